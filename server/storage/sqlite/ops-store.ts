// The SQLite backend's operations tables (server/ops/ is their one user):
// schedules and the runs they claimed, webhooks and their deliveries. On
// SQLite a fleet is one hub, but the claims are written as a fleet needs them:
// a run is claimed by an INSERT that only one caller can make, a delivery by
// an UPDATE that takes only rows whose claim is free or ran out.
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type {
  DeliveryAttempt, DeliveryRow, OpsStorage, RecrawlStorage, ScheduleRow, ScheduleRunRow, ScheduleRunState, WebhookEvent, WebhookRow,
} from '../storage.ts';
import type { GroupCommit } from './group-commit.ts';
import { delegateRecrawls, SqliteRecrawlStore } from './recrawl-store.ts';

type Row = Record<string, unknown>;
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export function scheduleRow(r: Row): ScheduleRow {
  return {
    id: String(r.id),
    name: String(r.name),
    specId: String(r.spec_id),
    cron: String(r.cron),
    timeZone: String(r.time_zone),
    overlap: r.overlap === 'queue' ? 'queue' : 'skip',
    paused: Number(r.paused) === 1,
    incremental: Number(r.incremental) === 1,
    keepRuns: Number(r.keep_runs),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

export function runRow(r: Row): ScheduleRunRow {
  return {
    scheduleId: String(r.schedule_id),
    dueAt: Number(r.due_at),
    state: String(r.state) as ScheduleRunState,
    crawlId: strOrNull(r.crawl_id),
    message: strOrNull(r.message),
    hub: String(r.hub),
    claimedAt: Number(r.claimed_at),
    startedAt: numOrNull(r.started_at),
  };
}

export function webhookRow(r: Row): WebhookRow {
  return {
    id: String(r.id),
    url: String(r.url),
    secret: String(r.secret),
    specName: strOrNull(r.spec_name),
    events: JSON.parse(String(r.events)) as WebhookEvent[],
    enabled: Number(r.enabled) === 1,
    createdAt: Number(r.created_at),
  };
}

export function deliveryRow(r: Row): DeliveryRow {
  return {
    id: String(r.id),
    webhookId: String(r.webhook_id),
    crawlId: String(r.crawl_id),
    event: String(r.event) as WebhookEvent,
    payload: String(r.payload),
    state: String(r.state) as DeliveryRow['state'],
    attempts: Number(r.attempts),
    nextAttemptAt: Number(r.next_attempt_at),
    claimedBy: strOrNull(r.claimed_by),
    claimedUntil: numOrNull(r.claimed_until),
    lastStatus: numOrNull(r.last_status),
    lastLatencyMs: numOrNull(r.last_latency_ms),
    lastError: strOrNull(r.last_error),
    createdAt: Number(r.created_at),
    deliveredAt: numOrNull(r.delivered_at),
  };
}

export class SqliteOpsStore implements Omit<OpsStorage, keyof RecrawlStorage> {
  private readonly commits: GroupCommit;
  private readonly s: Record<string, StatementSync>;

  constructor(db: DatabaseSync, commits: GroupCommit) {
    this.commits = commits;
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      listSchedules: p('SELECT * FROM schedules ORDER BY created_at, id'),
      getSchedule: p('SELECT * FROM schedules WHERE id = ?'),
      insertSchedule: p(
        `INSERT INTO schedules (id, name, spec_id, cron, time_zone, overlap, paused, incremental, keep_runs, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      updateSchedule: p(
        `UPDATE schedules SET name = ?, spec_id = ?, cron = ?, time_zone = ?, overlap = ?, paused = ?, incremental = ?, keep_runs = ?,
         updated_at = ? WHERE id = ?`,
      ),
      deleteSchedule: p('DELETE FROM schedules WHERE id = ?'),
      deleteRuns: p('DELETE FROM schedule_runs WHERE schedule_id = ?'),
      claimRun: p(
        `INSERT INTO schedule_runs (schedule_id, due_at, state, hub, claimed_at) VALUES (?, ?, 'claimed', ?, ?)
         ON CONFLICT (schedule_id, due_at) DO NOTHING`,
      ),
      setRun: p(
        `UPDATE schedule_runs SET state = ?, crawl_id = coalesce(?, crawl_id), message = ?, started_at = coalesce(?, started_at), hub = coalesce(?, hub)
         WHERE schedule_id = ? AND due_at = ? AND state = ?`,
      ),
      listRuns: p('SELECT * FROM schedule_runs WHERE schedule_id = ? ORDER BY due_at DESC LIMIT ?'),
      lastDue: p('SELECT MAX(due_at) AS m FROM schedule_runs WHERE schedule_id = ?'),
      listWebhooks: p('SELECT * FROM webhooks ORDER BY created_at, id'),
      getWebhook: p('SELECT * FROM webhooks WHERE id = ?'),
      insertWebhook: p('INSERT INTO webhooks (id, url, secret, spec_name, events, enabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      updateWebhook: p('UPDATE webhooks SET url = ?, spec_name = ?, events = ?, enabled = ? WHERE id = ?'),
      deleteWebhook: p('DELETE FROM webhooks WHERE id = ?'),
      deleteDeliveries: p('DELETE FROM webhook_deliveries WHERE webhook_id = ?'),
      enqueue: p(
        `INSERT INTO webhook_deliveries (id, webhook_id, crawl_id, event, payload, state, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (id) DO NOTHING`,
      ),
      claim: p(
        `UPDATE webhook_deliveries SET claimed_by = ?, claimed_until = ?
         WHERE id IN (SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= ?
                      AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY next_attempt_at, id LIMIT ?)
         RETURNING *`,
      ),
      attempt: p(
        `UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1, next_attempt_at = ?, claimed_by = NULL, claimed_until = NULL,
         last_status = ?, last_latency_ms = ?, last_error = ?, delivered_at = ?
         WHERE id = ? AND claimed_by = ? AND state = 'pending'`,
      ),
      listDeliveries: p('SELECT * FROM webhook_deliveries WHERE (? IS NULL OR webhook_id = ?) ORDER BY created_at DESC, id LIMIT ?'),
      redeliver: p(
        `UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = ?, claimed_by = NULL, claimed_until = NULL, delivered_at = NULL
         WHERE id = ?`,
      ),
    };
  }

  async listSchedules(): Promise<ScheduleRow[]> {
    return this.s.listSchedules!.all().map(scheduleRow);
  }

  async getSchedule(id: string): Promise<ScheduleRow | undefined> {
    const row = this.s.getSchedule!.get(id);
    return row ? scheduleRow(row) : undefined;
  }

  insertSchedule(r: ScheduleRow): Promise<void> {
    return this.commits.run(() => {
      this.s.insertSchedule!.run(r.id, r.name, r.specId, r.cron, r.timeZone, r.overlap, r.paused ? 1 : 0, r.incremental ? 1 : 0, r.keepRuns, r.createdAt, r.updatedAt);
    });
  }

  updateSchedule(id: string, r: Omit<ScheduleRow, 'id' | 'createdAt'>): Promise<ScheduleRow | undefined> {
    return this.commits.run(() => {
      const changes = this.s.updateSchedule!.run(r.name, r.specId, r.cron, r.timeZone, r.overlap, r.paused ? 1 : 0, r.incremental ? 1 : 0, r.keepRuns, r.updatedAt, id).changes;
      if (Number(changes) !== 1) return undefined;
      return scheduleRow(this.s.getSchedule!.get(id) as Row);
    });
  }

  deleteSchedule(id: string): Promise<boolean> {
    return this.commits.run(() => {
      this.s.deleteRuns!.run(id);
      return Number(this.s.deleteSchedule!.run(id).changes) === 1;
    });
  }

  claimScheduleRun(scheduleId: string, dueAt: number, hub: string, at: number): Promise<boolean> {
    return this.commits.run(() => Number(this.s.claimRun!.run(scheduleId, dueAt, hub, at).changes) === 1);
  }

  setScheduleRun(
    scheduleId: string,
    dueAt: number,
    from: ScheduleRunState,
    c: { state: ScheduleRunState; crawlId?: string | null; message?: string | null; startedAt?: number | null; hub?: string },
  ): Promise<boolean> {
    return this.commits.run(
      () =>
        Number(
          this.s.setRun!.run(c.state, c.crawlId ?? null, c.message?.slice(0, 1000) ?? null, c.startedAt ?? null, c.hub ?? null, scheduleId, dueAt, from).changes,
        ) === 1,
    );
  }

  async listScheduleRuns(scheduleId: string, limit: number): Promise<ScheduleRunRow[]> {
    return this.s.listRuns!.all(scheduleId, limit).map(runRow);
  }

  async lastScheduleDue(scheduleId: string): Promise<number | undefined> {
    return numOrNull((this.s.lastDue!.get(scheduleId) as Row).m) ?? undefined;
  }

  async listWebhooks(): Promise<WebhookRow[]> {
    return this.s.listWebhooks!.all().map(webhookRow);
  }

  async getWebhook(id: string): Promise<WebhookRow | undefined> {
    const row = this.s.getWebhook!.get(id);
    return row ? webhookRow(row) : undefined;
  }

  insertWebhook(r: WebhookRow): Promise<void> {
    return this.commits.run(() => {
      this.s.insertWebhook!.run(r.id, r.url, r.secret, r.specName, JSON.stringify(r.events), r.enabled ? 1 : 0, r.createdAt);
    });
  }

  updateWebhook(id: string, c: Pick<WebhookRow, 'url' | 'specName' | 'events' | 'enabled'>): Promise<WebhookRow | undefined> {
    return this.commits.run(() => {
      if (Number(this.s.updateWebhook!.run(c.url, c.specName, JSON.stringify(c.events), c.enabled ? 1 : 0, id).changes) !== 1) return undefined;
      return webhookRow(this.s.getWebhook!.get(id) as Row);
    });
  }

  deleteWebhook(id: string): Promise<boolean> {
    return this.commits.run(() => {
      this.s.deleteDeliveries!.run(id);
      return Number(this.s.deleteWebhook!.run(id).changes) === 1;
    });
  }

  enqueueDelivery(r: Pick<DeliveryRow, 'id' | 'webhookId' | 'crawlId' | 'event' | 'payload' | 'createdAt'>): Promise<boolean> {
    return this.commits.run(() => Number(this.s.enqueue!.run(r.id, r.webhookId, r.crawlId, r.event, r.payload, r.createdAt, r.createdAt).changes) === 1);
  }

  claimDeliveries(now: number, hub: string, claimUntil: number, limit: number): Promise<DeliveryRow[]> {
    return this.commits.run(() => this.s.claim!.all(hub, claimUntil, now, now, limit).map(deliveryRow));
  }

  recordDeliveryAttempt(id: string, hub: string, a: DeliveryAttempt): Promise<boolean> {
    return this.commits.run(() => {
      const deliveredAt = a.state === 'delivered' ? a.at : null;
      const changes = this.s.attempt!.run(a.state, a.nextAttemptAt, a.status, Math.round(a.latencyMs), a.error?.slice(0, 1000) ?? null, deliveredAt, id, hub).changes;
      return Number(changes) === 1;
    });
  }

  async listDeliveries(webhookId: string | undefined, limit: number): Promise<DeliveryRow[]> {
    const hook = webhookId ?? null;
    return this.s.listDeliveries!.all(hook, hook, limit).map(deliveryRow);
  }

  redeliver(id: string, now: number): Promise<boolean> {
    return this.commits.run(() => Number(this.s.redeliver!.run(now, id).changes) === 1);
  }
}

/** Every OpsStorage method, by name: what SqliteStorage hands to its ops store. */
const OPS_METHODS = [
  'listSchedules', 'getSchedule', 'insertSchedule', 'updateSchedule', 'deleteSchedule', 'claimScheduleRun', 'setScheduleRun',
  'listScheduleRuns', 'lastScheduleDue', 'listWebhooks', 'getWebhook', 'insertWebhook', 'updateWebhook', 'deleteWebhook',
  'enqueueDelivery', 'claimDeliveries', 'recordDeliveryAttempt', 'listDeliveries', 'redeliver',
] as const satisfies readonly Exclude<keyof OpsStorage, keyof RecrawlStorage>[];

/** Gives `target` the ops store's methods (the storage class stays within its size by not spelling out each one). */
export function delegateOps(target: object, store: SqliteOpsStore): void {
  for (const name of OPS_METHODS) Object.defineProperty(target, name, { value: store[name].bind(store), enumerable: false });
}

/** Gives a SqliteStorage its schedule, webhook and re-crawl methods (one call, so the storage class stays within its size). */
export function attachOps(target: object, db: DatabaseSync, commits: GroupCommit, storage: { forgetSeq(crawlId: string): void; takeItemId(): number }): void {
  delegateOps(target, new SqliteOpsStore(db, commits));
  delegateRecrawls(target, new SqliteRecrawlStore(db, commits, storage));
}
