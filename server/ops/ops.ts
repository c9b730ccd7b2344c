// Operations around crawls: schedules that start crawls of saved specs, and
// webhooks told when crawls start and end. Both fire once per fleet, through
// claims in storage (scheduler.ts, deliverer.ts). This wires them to the
// engine: a schedule's run is a new crawl of its saved spec as it is then;
// a crawl's status change queues one delivery per matching webhook, whose id
// (webhook, crawl, event) keeps every hub of a fleet from queuing it twice.
import { randomBytes } from 'node:crypto';
import type { Engine } from '../engine/engine.ts';
import type { Crawl } from '../crawl/crawl.ts';
import type { CrawlStatus, ScheduleRow, ScheduleRunRow, WebhookEvent } from '../storage/storage.ts';
import { HubError } from '../../shared/errors.ts';
import type { WebhookPayload } from '../../shared/ops-api.ts';
import { Scheduler } from './scheduler.ts';
import { Deliverer, type DelivererOptions } from './deliverer.ts';
import { Recrawls } from './recrawl.ts';

export interface OpsOptions {
  hubId: string;
  schedulerPollMs: number;
  webhooks: Pick<DelivererOptions, 'timeoutMs' | 'maxAttempts' | 'baseDelayMs' | 'maxDelayMs' | 'claimMs' | 'pollMs' | 'batch'>;
  /** The hub's address as receivers reach it, for the export links in payloads. */
  publicUrl(): string;
  random?: () => number;
}

const EVENT_OF: Partial<Record<CrawlStatus, WebhookEvent>> = { finished: 'crawl.finished', cancelled: 'crawl.cancelled', failed: 'crawl.failed' };

export function newOpsId(prefix: string): string {
  return `${prefix}_${randomBytes(8).toString('hex')}`;
}

export class Ops {
  readonly scheduler: Scheduler;
  readonly deliverer: Deliverer;
  readonly recrawls: Recrawls;
  private readonly engine: Engine;
  private readonly options: OpsOptions;
  /** Each crawl's status as last seen, to tell a start from a resume. */
  private readonly seen = new Map<string, CrawlStatus>();
  private readonly onStatus = (crawl: Crawl) => this.crawlStatus(crawl);
  private pendingEvents: Promise<unknown> = Promise.resolve();

  constructor(engine: Engine, options: OpsOptions) {
    this.engine = engine;
    this.options = options;
    const log = engine.log.child({ component: 'ops' });
    for (const crawl of engine.crawls.list()) this.seen.set(crawl.id, crawl.status);
    this.recrawls = new Recrawls(engine);
    this.scheduler = new Scheduler({
      storage: engine.storage,
      clock: engine.clock,
      log,
      hubId: options.hubId,
      pollMs: options.schedulerPollMs,
      isActive: (id) => engine.crawls.get(id)?.isActive ?? false,
      startRun: (schedule, previous) => this.startRun(schedule, previous),
      onStarted: (schedule, runs) => this.retire(schedule, runs),
    });
    this.deliverer = new Deliverer({
      storage: engine.storage,
      clock: engine.clock,
      log,
      hubId: options.hubId,
      ...options.webhooks,
      ...(options.random ? { random: options.random } : {}),
    });
    engine.on('crawlStatus', this.onStatus);
  }

  /** Reads what it needs from storage (which crawls are re-crawls). */
  async load(): Promise<void> {
    await this.recrawls.load();
  }

  start(): void {
    this.scheduler.start();
    this.deliverer.start();
  }

  async close(): Promise<void> {
    this.engine.off('crawlStatus', this.onStatus);
    this.scheduler.close();
    await this.scheduler.idle();
    await this.pendingEvents.catch(() => undefined);
    await this.deliverer.close();
  }

  /** Resolves when every event seen so far is queued for delivery (tests). */
  async eventsQueued(): Promise<void> {
    await this.pendingEvents;
  }

  private async startRun(schedule: ScheduleRow, previous: ScheduleRunRow | undefined): Promise<string> {
    const saved = await this.engine.storage.getSpec(schedule.specId);
    if (!saved) throw new HubError('SPEC_UNKNOWN', `the saved spec ${schedule.specId} was deleted`);
    const spec: unknown = JSON.parse(saved.spec);
    const crawl = schedule.incremental ? await this.recrawls.start(spec, previous?.crawlId ?? undefined) : await this.engine.createCrawl(spec);
    return crawl.id;
  }

  /**
   * Retention: past the schedule's last keepRuns runs, a run's crawl is
   * deleted with its data (ended ones only; a crawl still going waits for the
   * next run). An incremental schedule keeps at least two, since the newest
   * run revisits the one before it.
   */
  private async retire(schedule: ScheduleRow, runs: ScheduleRunRow[]): Promise<void> {
    if (schedule.keepRuns === 0) return;
    const keep = schedule.incremental ? Math.max(2, schedule.keepRuns) : schedule.keepRuns;
    const crawls = runs.filter((r) => r.state === 'started' && r.crawlId !== null).map((r) => r.crawlId!);
    for (const id of crawls.slice(keep)) {
      const crawl = this.engine.crawls.get(id);
      if (!crawl || crawl.isActive) continue;
      try {
        await this.recrawls.deleteCrawl(id);
        this.engine.log.info({ schedule: schedule.id, crawl: id }, `schedule "${schedule.name}": deleted crawl ${id}, older than the last ${keep} runs`);
      } catch (error) {
        this.engine.log.warn({ err: error }, `schedule "${schedule.name}": could not delete crawl ${id}`);
      }
    }
  }

  private crawlStatus(crawl: Crawl): void {
    const before = this.seen.get(crawl.id) ?? 'created';
    this.seen.set(crawl.id, crawl.status);
    const event = crawl.status === 'running' && before === 'created' ? 'crawl.started' : EVENT_OF[crawl.status];
    if (crawl.status !== 'running' && crawl.status !== 'paused') this.scheduler.kick(); // a queued run may start now
    if (!event || before === crawl.status) return;
    // Built now, while the counts are the ones of this moment.
    const payload = this.payload(crawl, event);
    this.pendingEvents = this.pendingEvents.then(() => this.queue(crawl, event, payload)).catch((error: unknown) => {
      this.engine.log.error({ err: error }, `webhooks: queuing ${event} for crawl ${crawl.id} failed`);
    });
  }

  private async queue(crawl: Crawl, event: WebhookEvent, payload: Omit<WebhookPayload, 'id'>): Promise<void> {
    let queued = 0;
    for (const hook of await this.engine.storage.listWebhooks()) {
      if (!hook.enabled || !hook.events.includes(event) || (hook.specName !== null && hook.specName !== crawl.name)) continue;
      const id = `${hook.id}:${crawl.id}:${event}`;
      const body = JSON.stringify({ id, ...payload } satisfies WebhookPayload);
      if (await this.engine.storage.enqueueDelivery({ id, webhookId: hook.id, crawlId: crawl.id, event, payload: body, createdAt: this.engine.clock.now() })) queued++;
    }
    if (queued > 0) this.deliverer.kick();
  }

  private payload(crawl: Crawl, event: WebhookEvent): Omit<WebhookPayload, 'id'> {
    const base = `${this.options.publicUrl().replace(/\/+$/, '')}/api/crawls/${encodeURIComponent(crawl.id)}/export`;
    return {
      event,
      occurredAt: new Date(this.engine.clock.now()).toISOString(),
      crawl: {
        id: crawl.id,
        name: crawl.name,
        status: crawl.status,
        finishReason: crawl.finishReason,
        specVersion: crawl.specVersion,
        createdAt: crawl.createdAt,
        startedAt: crawl.startedAt,
        finishedAt: crawl.finishedAt,
      },
      counts: { pagesDone: crawl.pagesDone, pagesFailed: crawl.pagesFailed, pagesSkipped: crawl.pagesSkipped, items: crawl.items },
      export: { jsonl: `${base}?format=jsonl`, json: `${base}?format=json`, csv: `${base}?format=csv` },
    };
  }
}
