// Storage for operations: schedules and webhooks (server/ops/). Kept apart
// from storage.ts (which extends OpsStorage) so that file stays readable; the
// SQLite methods are in sqlite/ops-store.ts.
import type { DeliveryState, OverlapPolicy, ScheduleRunState, WebhookEvent } from '../../shared/ops-api.ts';

// Operations: schedules and webhooks (server/ops/). A fleet of hubs may share
// one database, and a schedule or a webhook must fire once per fleet: a
// scheduled run is claimed by inserting (scheduleId, dueAt), which only one
// hub can do; a webhook delivery is one row, claimed by one hub at a time for
// a while (a dead hub's claim runs out and another hub delivers it).

/** What a schedule does when its time comes while its previous run is still going: 'skip' or 'queue'. */
export type { OverlapPolicy, ScheduleRunState, WebhookEvent, DeliveryState };

/** A saved spec run on a cron schedule. */
export interface ScheduleRow {
  id: string;
  name: string;
  /** The saved spec (listSpecs/getSpec) each run is a crawl of, as it is when the run starts. */
  specId: string;
  cron: string;
  /** An IANA time zone ("Europe/Paris", "UTC"): the cron fields are read in it. */
  timeZone: string;
  overlap: OverlapPolicy;
  paused: boolean;
  /** Runs after the first revisit the previous run's pages with conditional requests (docs/operate.md). */
  incremental: boolean;
  /** Runs kept (with their data); older ones are deleted when a new run starts. 0 keeps all. */
  keepRuns: number;
  createdAt: number;
  updatedAt: number;
}


/** One time a schedule came due, and what became of it. */
export interface ScheduleRunRow {
  scheduleId: string;
  /** The occurrence of the cron expression this run is for (epoch ms): unique per schedule. */
  dueAt: number;
  state: ScheduleRunState;
  crawlId: string | null;
  /** Why it was skipped or failed. */
  message: string | null;
  /** Which hub claimed it. */
  hub: string;
  claimedAt: number;
  startedAt: number | null;
}


/** Where the hub POSTs crawl events. Set by the operator only. */
export interface WebhookRow {
  id: string;
  url: string;
  /** The HMAC-SHA256 key of the signature header (shown to the operator once, when created). */
  secret: string;
  /** Only crawls of a spec with this name; null for every crawl (hub-wide). */
  specName: string | null;
  events: WebhookEvent[];
  enabled: boolean;
  createdAt: number;
}


/** One event to deliver to one webhook, with its latest answer. */
export interface DeliveryRow {
  /** `${webhookId}:${crawlId}:${event}`: the same event is queued once per fleet however many hubs see it. */
  id: string;
  webhookId: string;
  crawlId: string;
  event: WebhookEvent;
  /** The JSON body, exactly as signed and sent. */
  payload: string;
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: number;
  /** The hub holding it, and until when (a claim that ran out may be taken by another hub). */
  claimedBy: string | null;
  claimedUntil: number | null;
  lastStatus: number | null;
  lastLatencyMs: number | null;
  lastError: string | null;
  createdAt: number;
  deliveredAt: number | null;
}

/** One attempt's answer, recorded with what comes next. */
export interface DeliveryAttempt {
  at: number;
  status: number | null;
  latencyMs: number;
  error: string | null;
  /** pending = retry at nextAttemptAt. */
  state: DeliveryState;
  nextAttemptAt: number;
}

/** An incremental crawl's page as the previous run left it: what the relay asks the site with (docs/operate.md, re-crawls). */
export interface PreviousPage {
  etag: string | null;
  lastModified: string | null;
  /** The previous run's content hash: a 200 with the same bytes is unchanged too. */
  contentHash: string | null;
}

/** An incremental crawl's page that did not change, to record with the previous run's items (carried), in one transaction. */
export interface CarriedPage {
  crawlId: string;
  key: string;
  previousCrawlId: string;
  finalUrl: string;
  /** 304, or 200 when the body's hash matched. */
  httpStatus: number;
  contentHash: string;
  etag: string | null;
  lastModified: string | null;
  specVersion: number;
  doneAt: number;
}

/** Deleting crawls and re-crawls (implemented by server/storage/sqlite/recrawl-store.ts). */
/** `Item` is storage.ts's StoredItem (a parameter, so this file does not import storage.ts, which imports it). */
export interface RecrawlStorage<Item = unknown> {
  /** Deletes a crawl and everything of it (requests, items, sources); false when there was none. The caller makes sure it is not active. */
  deleteCrawl(crawlId: string): Promise<boolean>;

  // Re-crawls (server/ops/recrawl.ts)
  /**
   * Makes `crawlId` (created, not started) a re-crawl of `previousCrawlId`:
   * queues every URL the previous run had (at its depth) that the new one has
   * not, with the previous run's ETag, Last-Modified and content hash when
   * `withValidators` (the spec is the same); answers how many were queued.
   */
  seedRecrawl(crawlId: string, previousCrawlId: string, withValidators: boolean): Promise<number>;
  /** Every re-crawl and the crawl it revisits. */
  listRecrawls(): Promise<{ crawlId: string; previousCrawlId: string }[]>;
  /** What the previous run knew of a queued page of a re-crawl; undefined when nothing. */
  previousPage(crawlId: string, key: string): Promise<PreviousPage | undefined>;
  /** Keeps a fetched page's ETag and Last-Modified, for the next run's conditional request. */
  setValidators(crawlId: string, key: string, v: { etag: string | null; lastModified: string | null }): Promise<void>;
  /** Records an unchanged page with the previous run's items for it (marked carried); `recorded` false when the page had ended. */
  carryPage(page: CarriedPage): Promise<{ recorded: boolean; items: number }>;
  /** A crawl's items of pages that changed (not carried from the previous run), after id `after`, in batches. */
  iterateChangedItems(crawlId: string, batch?: number, after?: number): AsyncGenerator<Item>;
  /** Pages recorded unchanged, and items carried, in a crawl. */
  recrawlCounts(crawlId: string): Promise<{ pagesUnchanged: number; itemsCarried: number }>;
}

/** The methods of Storage for schedules and webhooks (implemented by server/storage/sqlite/ops-store.ts), and re-crawls. */
export interface OpsStorage<Item = unknown> extends RecrawlStorage<Item> {
  listSchedules(): Promise<ScheduleRow[]>;
  getSchedule(id: string): Promise<ScheduleRow | undefined>;
  insertSchedule(row: ScheduleRow): Promise<void>;
  /** undefined when there is no such schedule. */
  updateSchedule(id: string, row: Omit<ScheduleRow, 'id' | 'createdAt'>): Promise<ScheduleRow | undefined>;
  /** Deletes the schedule and its runs' records (not the crawls). False when there was none. */
  deleteSchedule(id: string): Promise<boolean>;
  /**
   * Claims the run of `scheduleId` due at `dueAt` for `hub`: true for the one
   * caller that inserted it, false for every other (in the fleet) and for a
   * second call.
   */
  claimScheduleRun(scheduleId: string, dueAt: number, hub: string, at: number): Promise<boolean>;
  /** Records what became of a claimed (or queued) run; `from` guards the change (false when it was not in that state). */
  setScheduleRun(
    scheduleId: string,
    dueAt: number,
    from: ScheduleRunState,
    change: { state: ScheduleRunState; crawlId?: string | null; message?: string | null; startedAt?: number | null; hub?: string },
  ): Promise<boolean>;
  /** A schedule's runs, the latest due first. */
  listScheduleRuns(scheduleId: string, limit: number): Promise<ScheduleRunRow[]>;
  /** The latest occurrence claimed, whatever became of it. */
  lastScheduleDue(scheduleId: string): Promise<number | undefined>;

  listWebhooks(): Promise<WebhookRow[]>;
  getWebhook(id: string): Promise<WebhookRow | undefined>;
  insertWebhook(row: WebhookRow): Promise<void>;
  updateWebhook(id: string, change: Pick<WebhookRow, 'url' | 'specName' | 'events' | 'enabled'>): Promise<WebhookRow | undefined>;
  /** Deletes the webhook and its deliveries. */
  deleteWebhook(id: string): Promise<boolean>;
  /** Queues a delivery unless one with its id exists (another hub queued it); true when this call queued it. */
  enqueueDelivery(row: Pick<DeliveryRow, 'id' | 'webhookId' | 'crawlId' | 'event' | 'payload' | 'createdAt'>): Promise<boolean>;
  /**
   * Claims up to `limit` pending deliveries due at `now` whose claim is free or
   * ran out, for `hub` until `claimUntil`, atomically: no two hubs get the same one.
   */
  claimDeliveries(now: number, hub: string, claimUntil: number, limit: number): Promise<DeliveryRow[]>;
  /** Records an attempt by `hub` and frees the claim; false when the hub no longer held it (nothing changed). */
  recordDeliveryAttempt(id: string, hub: string, attempt: DeliveryAttempt): Promise<boolean>;
  /** Deliveries, the latest first, of one webhook or all. */
  listDeliveries(webhookId: string | undefined, limit: number): Promise<DeliveryRow[]>;
  /** Puts a delivered or failed delivery back in the queue now (the console's "redeliver"). */
  redeliver(id: string, now: number): Promise<boolean>;
}
