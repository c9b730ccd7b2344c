// PostgreSQL: schedules, webhooks and re-crawls (server/ops/), as the SQLite
// backend's ops-store.ts and recrawl-store.ts. This is where hubs of a fleet
// really meet: a scheduled run is claimed by an INSERT only one hub can make
// (the primary key), and due deliveries are claimed with FOR UPDATE SKIP
// LOCKED, so two hubs never take the same one at once.
import type {
  CarriedPage, DeliveryAttempt, DeliveryRow, OpsStorage, PreviousPage, ScheduleRow, ScheduleRunRow, ScheduleRunState, StoredItem, WebhookRow,
} from '../storage.ts';
import { deliveryRow, runRow, scheduleRow, webhookRow } from '../sqlite/ops-store.ts';
import { storedItem } from '../sqlite/rows.ts';
import { VALIDATION_CODES } from '../sqlite/trust-store.ts';
import { run, statement, type PgGroupCommit, type Queryable } from './group-commit.ts';

type Row = Record<string, unknown>;
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

const S = {
  listSchedules: statement('op_list_schedules', 'SELECT * FROM schedules ORDER BY created_at, id'),
  getSchedule: statement('op_get_schedule', 'SELECT * FROM schedules WHERE id = $1'),
  insertSchedule: statement(
    'op_insert_schedule',
    `INSERT INTO schedules (id, name, spec_id, cron, time_zone, overlap, paused, incremental, keep_runs, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
  ),
  updateSchedule: statement(
    'op_update_schedule',
    `UPDATE schedules SET name = $2, spec_id = $3, cron = $4, time_zone = $5, overlap = $6, paused = $7, incremental = $8, keep_runs = $9,
     updated_at = $10 WHERE id = $1 RETURNING *`,
  ),
  deleteRuns: statement('op_delete_runs', 'DELETE FROM schedule_runs WHERE schedule_id = $1'),
  deleteSchedule: statement('op_delete_schedule', 'DELETE FROM schedules WHERE id = $1'),
  claimRun: statement(
    'op_claim_run',
    `INSERT INTO schedule_runs (schedule_id, due_at, state, hub, claimed_at) VALUES ($1, $2, 'claimed', $3, $4) ON CONFLICT DO NOTHING`,
  ),
  setRun: statement(
    'op_set_run',
    `UPDATE schedule_runs SET state = $1, crawl_id = coalesce($2, crawl_id), message = $3, started_at = coalesce($4, started_at), hub = coalesce($5, hub)
     WHERE schedule_id = $6 AND due_at = $7 AND state = $8`,
  ),
  listRuns: statement('op_list_runs', 'SELECT * FROM schedule_runs WHERE schedule_id = $1 ORDER BY due_at DESC LIMIT $2'),
  lastDue: statement('op_last_due', 'SELECT MAX(due_at) AS m FROM schedule_runs WHERE schedule_id = $1'),
  listWebhooks: statement('op_list_webhooks', 'SELECT * FROM webhooks ORDER BY created_at, id'),
  getWebhook: statement('op_get_webhook', 'SELECT * FROM webhooks WHERE id = $1'),
  insertWebhook: statement('op_insert_webhook', 'INSERT INTO webhooks (id, url, secret, spec_name, events, enabled, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)'),
  updateWebhook: statement('op_update_webhook', 'UPDATE webhooks SET url = $2, spec_name = $3, events = $4, enabled = $5 WHERE id = $1 RETURNING *'),
  deleteDeliveries: statement('op_delete_deliveries', 'DELETE FROM webhook_deliveries WHERE webhook_id = $1'),
  deleteWebhook: statement('op_delete_webhook', 'DELETE FROM webhooks WHERE id = $1'),
  enqueue: statement(
    'op_enqueue',
    `INSERT INTO webhook_deliveries (id, webhook_id, crawl_id, event, payload, state, next_attempt_at, created_at)
     VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6) ON CONFLICT DO NOTHING`,
  ),
  claim: statement(
    'op_claim',
    `UPDATE webhook_deliveries SET claimed_by = $1, claimed_until = $2
     WHERE id IN (SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= $3
                  AND (claimed_until IS NULL OR claimed_until <= $3) ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
     RETURNING *`,
  ),
  attempt: statement(
    'op_attempt',
    `UPDATE webhook_deliveries SET state = $1, attempts = attempts + 1, next_attempt_at = $2, claimed_by = NULL, claimed_until = NULL,
     last_status = $3, last_latency_ms = $4, last_error = $5, delivered_at = $6 WHERE id = $7 AND claimed_by = $8 AND state = 'pending'`,
  ),
  listDeliveries: statement(
    'op_list_deliveries',
    'SELECT * FROM webhook_deliveries WHERE ($1::text IS NULL OR webhook_id = $1) ORDER BY created_at DESC, id LIMIT $2',
  ),
  redeliver: statement(
    'op_redeliver',
    `UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $2, claimed_by = NULL, claimed_until = NULL, delivered_at = NULL WHERE id = $1`,
  ),
  // Re-crawls and deleting crawls
  deleteCrawl: [
    'DELETE FROM items WHERE crawl_id = $1', 'DELETE FROM item_withdrawals WHERE crawl_id = $1', 'DELETE FROM requests WHERE crawl_id = $1',
    'DELETE FROM crawl_sources WHERE crawl_id = $1', 'DELETE FROM recrawls WHERE crawl_id = $1 OR previous_crawl_id = $1',
  ].map((text, i) => statement(`op_delete_crawl_${i}`, text)),
  deleteCrawlRow: statement('op_delete_crawl_row', 'DELETE FROM crawls WHERE id = $1'),
  seed: statement(
    'op_seed',
    `INSERT INTO requests (crawl_id, key, url, host, depth, seq, state, prev_etag, prev_last_modified, prev_hash)
     SELECT $1, key, url, host, depth, $2 - 1 + ROW_NUMBER() OVER (ORDER BY seq), 0,
            CASE WHEN $3 AND state = 2 THEN etag END, CASE WHEN $3 AND state = 2 THEN last_modified END, CASE WHEN $3 AND state = 2 THEN content_hash END
     FROM requests WHERE crawl_id = $4 AND key NOT IN (SELECT key FROM requests WHERE crawl_id = $1) ORDER BY seq`,
  ),
  seedStarts: statement(
    'op_seed_starts',
    `UPDATE requests AS n SET prev_etag = p.etag, prev_last_modified = p.last_modified, prev_hash = p.content_hash
     FROM requests AS p WHERE n.crawl_id = $1 AND n.state = 0 AND p.crawl_id = $2 AND p.key = n.key AND p.state = 2`,
  ),
  insertRecrawl: statement(
    'op_insert_recrawl',
    'INSERT INTO recrawls (crawl_id, previous_crawl_id) VALUES ($1, $2) ON CONFLICT (crawl_id) DO UPDATE SET previous_crawl_id = excluded.previous_crawl_id',
  ),
  listRecrawls: statement('op_list_recrawls', 'SELECT crawl_id, previous_crawl_id FROM recrawls'),
  previousPage: statement('op_previous_page', 'SELECT prev_etag, prev_last_modified, prev_hash FROM requests WHERE crawl_id = $1 AND key = $2 AND state = 0'),
  setValidators: statement('op_set_validators', 'UPDATE requests SET etag = $3, last_modified = $4 WHERE crawl_id = $1 AND key = $2'),
  markCarried: statement(
    'op_mark_carried',
    `UPDATE requests SET state = 2, final_url = $3, http_status = $4, content_hash = $5, etag = coalesce($6, prev_etag),
     last_modified = coalesce($7, prev_last_modified), unchanged = 1, items = 0, links = 0, worker = 'hub', lease_id = NULL,
     spec_version = $8, done_at = $9, validation = ${VALIDATION_CODES.hub}, attempts = attempts + 1, error_code = NULL, error_message = NULL
     WHERE crawl_id = $1 AND key = $2 AND state = 0`,
  ),
  previousItems: statement('op_previous_items', 'SELECT url, type, data, spec_version, worker, created_at FROM items WHERE crawl_id = $1 AND request_key = $2 ORDER BY id'),
  markItemsCarried: statement('op_mark_items_carried', 'UPDATE items SET carried = 1 WHERE crawl_id = $1 AND request_key = $2'),
  setItems: statement('op_set_items', 'UPDATE requests SET items = $3 WHERE crawl_id = $1 AND key = $2'),
  changedItems: statement(
    'op_changed_items',
    'SELECT id, url, type, data, spec_version, worker, created_at FROM items WHERE crawl_id = $1 AND id > $2 AND carried = 0 ORDER BY id LIMIT $3',
  ),
  unchanged: statement('op_unchanged', 'SELECT COUNT(*) AS n FROM requests WHERE crawl_id = $1 AND unchanged = 1'),
  carried: statement('op_carried', 'SELECT COUNT(*) AS n FROM items WHERE crawl_id = $1 AND carried = 1'),
};

export class PgOpsStore implements OpsStorage<StoredItem> {
  private readonly db: Queryable;
  private readonly commits: PgGroupCommit;

  constructor(db: Queryable, commits: PgGroupCommit) {
    this.db = db;
    this.commits = commits;
  }

  private async rows(s: (typeof S)['listSchedules'], values: unknown[] = []): Promise<Row[]> {
    return (await run(this.db, s, values)).rows;
  }

  async listSchedules(): Promise<ScheduleRow[]> { return (await this.rows(S.listSchedules)).map(scheduleRow); }
  async getSchedule(id: string): Promise<ScheduleRow | undefined> {
    const row = (await this.rows(S.getSchedule, [id]))[0];
    return row ? scheduleRow(row) : undefined;
  }
  insertSchedule(r: ScheduleRow): Promise<void> {
    return this.commits.run(async (tx) => {
      await tx.run(S.insertSchedule, [r.id, r.name, r.specId, r.cron, r.timeZone, r.overlap, r.paused ? 1 : 0, r.incremental ? 1 : 0, r.keepRuns, r.createdAt, r.updatedAt]);
    });
  }
  updateSchedule(id: string, r: Omit<ScheduleRow, 'id' | 'createdAt'>): Promise<ScheduleRow | undefined> {
    return this.commits.run(async (tx) => {
      const row = (await tx.run(S.updateSchedule, [id, r.name, r.specId, r.cron, r.timeZone, r.overlap, r.paused ? 1 : 0, r.incremental ? 1 : 0, r.keepRuns, r.updatedAt])).rows[0];
      return row ? scheduleRow(row) : undefined;
    });
  }
  deleteSchedule(id: string): Promise<boolean> {
    return this.commits.run(async (tx) => {
      await tx.run(S.deleteRuns, [id]);
      return (await tx.run(S.deleteSchedule, [id])).rowCount === 1;
    });
  }
  claimScheduleRun(scheduleId: string, dueAt: number, hub: string, at: number): Promise<boolean> {
    return this.commits.run(async (tx) => (await tx.run(S.claimRun, [scheduleId, dueAt, hub, at])).rowCount === 1);
  }
  setScheduleRun(
    scheduleId: string, dueAt: number, from: ScheduleRunState,
    c: { state: ScheduleRunState; crawlId?: string | null; message?: string | null; startedAt?: number | null; hub?: string },
  ): Promise<boolean> {
    return this.commits.run(async (tx) =>
      (await tx.run(S.setRun, [c.state, c.crawlId ?? null, c.message?.slice(0, 1000) ?? null, c.startedAt ?? null, c.hub ?? null, scheduleId, dueAt, from])).rowCount === 1,
    );
  }
  async listScheduleRuns(scheduleId: string, limit: number): Promise<ScheduleRunRow[]> { return (await this.rows(S.listRuns, [scheduleId, limit])).map(runRow); }
  async lastScheduleDue(scheduleId: string): Promise<number | undefined> {
    const m = (await this.rows(S.lastDue, [scheduleId]))[0]?.m;
    return m === null || m === undefined ? undefined : Number(m);
  }

  async listWebhooks(): Promise<WebhookRow[]> { return (await this.rows(S.listWebhooks)).map(webhookRow); }
  async getWebhook(id: string): Promise<WebhookRow | undefined> {
    const row = (await this.rows(S.getWebhook, [id]))[0];
    return row ? webhookRow(row) : undefined;
  }
  insertWebhook(r: WebhookRow): Promise<void> {
    return this.commits.run(async (tx) => {
      await tx.run(S.insertWebhook, [r.id, r.url, r.secret, r.specName, JSON.stringify(r.events), r.enabled ? 1 : 0, r.createdAt]);
    });
  }
  updateWebhook(id: string, c: Pick<WebhookRow, 'url' | 'specName' | 'events' | 'enabled'>): Promise<WebhookRow | undefined> {
    return this.commits.run(async (tx) => {
      const row = (await tx.run(S.updateWebhook, [id, c.url, c.specName, JSON.stringify(c.events), c.enabled ? 1 : 0])).rows[0];
      return row ? webhookRow(row) : undefined;
    });
  }
  deleteWebhook(id: string): Promise<boolean> {
    return this.commits.run(async (tx) => {
      await tx.run(S.deleteDeliveries, [id]);
      return (await tx.run(S.deleteWebhook, [id])).rowCount === 1;
    });
  }
  enqueueDelivery(r: Pick<DeliveryRow, 'id' | 'webhookId' | 'crawlId' | 'event' | 'payload' | 'createdAt'>): Promise<boolean> {
    return this.commits.run(async (tx) => (await tx.run(S.enqueue, [r.id, r.webhookId, r.crawlId, r.event, r.payload, r.createdAt])).rowCount === 1);
  }
  claimDeliveries(now: number, hub: string, claimUntil: number, limit: number): Promise<DeliveryRow[]> {
    return this.commits.run(async (tx) => (await tx.run(S.claim, [hub, claimUntil, now, limit])).rows.map(deliveryRow));
  }
  recordDeliveryAttempt(id: string, hub: string, a: DeliveryAttempt): Promise<boolean> {
    const deliveredAt = a.state === 'delivered' ? a.at : null;
    return this.commits.run(async (tx) =>
      (await tx.run(S.attempt, [a.state, a.nextAttemptAt, a.status, Math.round(a.latencyMs), a.error?.slice(0, 1000) ?? null, deliveredAt, id, hub])).rowCount === 1,
    );
  }
  async listDeliveries(webhookId: string | undefined, limit: number): Promise<DeliveryRow[]> {
    return (await this.rows(S.listDeliveries, [webhookId ?? null, limit])).map(deliveryRow);
  }
  redeliver(id: string, now: number): Promise<boolean> {
    return this.commits.run(async (tx) => (await tx.run(S.redeliver, [id, now])).rowCount === 1);
  }

  // Re-crawls and deleting crawls

  deleteCrawl(crawlId: string): Promise<boolean> {
    return this.commits.run(async (tx) => {
      await tx.flushItems();
      for (const s of S.deleteCrawl) await tx.run(s, [crawlId]);
      tx.known.forget(crawlId);
      return (await tx.run(S.deleteCrawlRow, [crawlId])).rowCount === 1;
    });
  }
  seedRecrawl(crawlId: string, previousCrawlId: string, withValidators: boolean): Promise<number> {
    return this.commits.run(async (tx) => {
      const next = await tx.nextSeq(crawlId);
      const queued = (await tx.run(S.seed, [crawlId, next, withValidators, previousCrawlId])).rowCount ?? 0;
      tx.usedSeq(crawlId, next + queued);
      if (withValidators) await tx.run(S.seedStarts, [crawlId, previousCrawlId]);
      await tx.run(S.insertRecrawl, [crawlId, previousCrawlId]);
      return queued;
    });
  }
  async listRecrawls(): Promise<{ crawlId: string; previousCrawlId: string }[]> {
    return (await this.rows(S.listRecrawls)).map((r) => ({ crawlId: String(r.crawl_id), previousCrawlId: String(r.previous_crawl_id) }));
  }
  async previousPage(crawlId: string, key: string): Promise<PreviousPage | undefined> {
    const r = (await this.rows(S.previousPage, [crawlId, key]))[0];
    if (!r || (r.prev_etag === null && r.prev_last_modified === null && r.prev_hash === null)) return undefined;
    return { etag: strOrNull(r.prev_etag), lastModified: strOrNull(r.prev_last_modified), contentHash: strOrNull(r.prev_hash) };
  }
  setValidators(crawlId: string, key: string, v: { etag: string | null; lastModified: string | null }): Promise<void> {
    return this.commits.run(async (tx) => {
      await tx.run(S.setValidators, [crawlId, key, v.etag?.slice(0, 500) ?? null, v.lastModified?.slice(0, 100) ?? null]);
    });
  }
  carryPage(c: CarriedPage): Promise<{ recorded: boolean; items: number }> {
    return this.commits.run(async (tx) => {
      const marked = await tx.run(S.markCarried, [
        c.crawlId, c.key, c.finalUrl, c.httpStatus, c.contentHash, c.etag?.slice(0, 500) ?? null, c.lastModified?.slice(0, 100) ?? null, c.specVersion, c.doneAt,
      ]);
      if (marked.rowCount !== 1) return { recorded: false, items: 0 };
      const previous = (await tx.run(S.previousItems, [c.previousCrawlId, c.key])).rows;
      // Through the batch's item insert, so carried items take feed positions like any other; then marked carried.
      tx.addItems(previous.map((r) => ({
        crawlId: c.crawlId, key: c.key, url: String(r.url), type: String(r.type), data: String(r.data),
        specVersion: Number(r.spec_version), worker: strOrNull(r.worker), createdAt: Number(r.created_at),
      })));
      await tx.flushItems();
      await tx.run(S.markItemsCarried, [c.crawlId, c.key]);
      await tx.run(S.setItems, [c.crawlId, c.key, previous.length]);
      tx.bump(c.crawlId, { done: 1, items: previous.length });
      return { recorded: true, items: previous.length };
    });
  }
  async *iterateChangedItems(crawlId: string, batch = 1000, after = 0): AsyncGenerator<StoredItem> {
    for (;;) {
      const rows = await this.rows(S.changedItems, [crawlId, after, batch]);
      if (rows.length === 0) return;
      for (const row of rows) yield storedItem(row);
      after = Number(rows[rows.length - 1]!.id);
    }
  }
  async recrawlCounts(crawlId: string): Promise<{ pagesUnchanged: number; itemsCarried: number }> {
    return {
      pagesUnchanged: Number((await this.rows(S.unchanged, [crawlId]))[0]!.n),
      itemsCarried: Number((await this.rows(S.carried, [crawlId]))[0]!.n),
    };
  }
}

const OPS_METHODS = Object.getOwnPropertyNames(PgOpsStore.prototype).filter((name) => name !== 'constructor' && name !== 'rows');

/** Gives `target` the store's methods (PostgresStorage stays within its size by not spelling out each one). */
export function delegatePgOps(target: object, store: PgOpsStore): void {
  for (const name of OPS_METHODS) {
    const method = (store as unknown as Record<string, (...args: unknown[]) => unknown>)[name]!;
    Object.defineProperty(target, name, { value: method.bind(store), enumerable: false });
  }
}
