// The one interface through which the hub reads and writes what it keeps.
// Storage is the only writer: the steps (crawl, frontier, politeness, results)
// say what happened, storage records it in one transaction and answers with
// what changed (which links were new, with the queue position it gave them),
// and only then do the steps update their memory. Every method returns a
// promise, so a backend over the network (PostgreSQL) fits the same steps; the
// embedded SQLite backend (sqlite/) answers at once and commits the writes of
// one turn of the event loop together.
import type { KeptBody } from './kept-bodies.ts';
import type { AdminErrorGroup } from '../../shared/admin-protocol.ts';
import type { CrawlErrorGroup, CrawlStatus, CrawlSummary } from '../../shared/admin-api.ts';
import { ErrorCode } from '../../shared/errors.ts';
import type { ExtractedItem } from '../../shared/extract/engine.ts';
import type { SpecVersionStore } from './spec-versions.ts';
import type { OpsStorage } from './ops-storage.ts';
import type { TrustChange } from './trust-change.ts';
import type { ContributorStorage } from './contributor-rows.ts';
export type { ContributorRow, ContributorTotals } from './contributor-rows.ts';
import type { CrawlSyncStorage, FleetLimit, RecordedPage } from './crawl-sync.ts';
export type { CrawlStatus };

/** A request's state, by name. Leased requests stay `queued`: a lease lives in memory only. */
export type RequestState = 'queued' | 'done' | 'failed' | 'skipped';
export const REQUEST_STATES: readonly RequestState[] = ['queued', 'done', 'failed', 'skipped'];

/** A crawl as stored: the summary's own fields (shared/admin-api.ts) and its spec as JSON, defaults filled in. */
export type CrawlRow = Pick<
  CrawlSummary,
  'id' | 'name' | 'status' | 'finishReason' | 'specVersion' | 'createdAt' | 'startedAt' | 'finishedAt' | 'pagesDone' | 'pagesFailed' | 'pagesSkipped' | 'items'
> & { spec: string; validation: ValidationCounts };

/** How a recorded page's result was believed (docs/trust.md). */
export type Validation = 'checked' | 'trusted' | 'operator' | 'hub';
export const VALIDATIONS: readonly Validation[] = ['checked', 'trusted', 'operator', 'hub'];

/** A crawl's validation figures as stored (the console adds what is pending now). */
export interface ValidationCounts {
  /** Pages whose result a second opinion confirmed. */
  checked: number;
  /** Pages accepted on trust (a contributor past probation, not drawn for a check), or from an operator's worker. */
  trusted: number;
  /** Results refused: wrong on a check, links not in the page, or not fitting the spec. */
  rejected: number;
  /** Extractions done only to check others' results (contributors' and the hub's). */
  extraExtractions: number;
  /** Items removed after their contributor was caught (re-checked against the bytes, or re-crawled). */
  itemsWithdrawn: number;
}

/** A queued URL, as storage keeps it and the frontier holds it. */
export interface QueuedEntry {
  readonly key: string;
  readonly url: string;
  readonly host: string;
  readonly depth: number;
  /** Its place in the crawl's queue: storage gives it, in the order URLs were queued. */
  readonly seq: number;
  attempts: number;
  notBefore: number;
}

/** A URL to queue unless the crawl has seen its key. */
export interface NewRequest {
  url: string;
  key: string;
  host: string;
  depth: number;
}

export type SourceKind = 'sitemap' | 'robots';
export type SourceState = 'pending' | 'done' | 'failed';

/** A crawl's start source besides its start URLs: a sitemap, or a robots.txt read for its Sitemap: lines. */
export interface NewSource {
  url: string;
  kind: SourceKind;
  /** Where the sitemap was named: its pages' scope is relative to this. */
  scopeBase: string;
  nesting: number;
}

export interface SourceRow extends NewSource {
  state: SourceState;
  attempts: number;
  notBefore: number;
  urlsQueued: number;
  errorCode: string | null;
  errorMessage: string | null;
  doneAt: number | null;
}

export interface RequestRow {
  key: string;
  url: string;
  host: string;
  depth: number;
  seq: number;
  state: RequestState;
  attempts: number;
  notBefore: number;
  finalUrl: string | null;
  httpStatus: number | null;
  contentHash: string | null;
  items: number | null;
  links: number | null;
  worker: string | null;
  leaseId: string | null;
  specVersion: number | null;
  errorCode: string | null;
  errorMessage: string | null;
  doneAt: number | null;
}

/** One extracted item, as a worker sent it and the results step checked it. */
export type ItemData = ExtractedItem;

export interface StoredItem {
  id: number;
  url: string;
  type: string;
  /** The item's fields as JSON. */
  data: string;
  specVersion: number;
  worker: string | null;
  createdAt: number;
}

/** A page's result, to record with its items and the links it queues, in one transaction. */
export interface PageRecord {
  crawlId: string;
  key: string;
  finalUrl: string;
  httpStatus: number;
  contentHash: string;
  items: readonly ItemData[];
  /** Links to queue at `linkDepth` (already checked against the spec); none once the crawl has ended. */
  links: readonly NewRequest[];
  worker: string;
  leaseId: string;
  specVersion: number;
  doneAt: number;
  /** The contributor's browser (null for the hub's own extraction): whose trusted results a ban re-checks. */
  clientId: string | null;
  validation: Validation;
  /** The result's fingerprint (server/validate/digest.ts), to re-check it later against the stored body. */
  resultDigest: string;
  /** Results refused and extractions spent on this page's check, added to the crawl's figures with it. */
  rejected: number;
  extraExtractions: number;
  /**
   * The served body, compressed, kept for re-checks of a result accepted on trust; its bytes may be made
   * only when written (not when this store wrote the same body lately: kept-bodies.ts).
   */
  body?: KeptBody;
}

export interface EndedRequest {
  attempts: number;
  code: ErrorCode;
  message: string;
  httpStatus?: number | null;
  finalUrl?: string | null;
  at: number;
}

export interface NewCrawl {
  id: string;
  name: string;
  spec: string;
  specVersion: number;
  createdAt: number;
  startUrls: readonly NewRequest[];
  sources: readonly NewSource[];
}

/** Failed and skipped pages by error code and host (the API's view of it). */
export type ErrorSummaryRow = CrawlErrorGroup;

/** A spec in the admin console's library. Names are unique regardless of case. */
export interface SavedSpecRow {
  id: string;
  name: string;
  /** JSON text of the spec as written (defaults not filled in). */
  spec: string;
  createdAt: number;
  updatedAt: number;
}

/** Thrown by insertSpec and updateSpec when another saved spec has the name (case aside). */
export class SpecNameTakenError extends Error {
  override readonly name = 'SpecNameTakenError';
  readonly code = ErrorCode.SPEC_NAME_TAKEN;
}

/** A contributor's record (per browser, `client:<id>`, and per address, `address:<ip>`). */
export interface TrustRow {
  key: string;
  /** The nickname last seen (for a browser) or the address. */
  label: string;
  checked: number;
  valid: number;
  invalid: number;
  trusted: number;
  strikes: number;
  consecutiveValid: number;
  banned: boolean;
  lastReason: string | null;
  updatedAt: number;
}

export type { TrustChange }; // a record's changes as increments, for a fleet (trust-changes.ts)
export type BanKind = 'client' | 'address';
export interface BanRow {
  kind: BanKind;
  value: string;
  reason: string;
  createdAt: number;
}

/** A worker token the operator issued: its holder's results are trusted. Only the token's hash is kept. */
export interface WorkerTokenRow {
  id: string;
  name: string;
  tokenHash: string;
  createdAt: number;
}

/** A page whose result was accepted on trust, to re-check when its contributor is caught. */
export interface TrustedPage {
  crawlId: string;
  key: string;
  url: string;
  finalUrl: string;
  depth: number;
  httpStatus: number;
  contentHash: string;
  resultDigest: string;
  specVersion: number;
}

/** The hub's own result for a page, replacing a withdrawn one. */
export interface ReplacedPage {
  crawlId: string;
  key: string;
  items: readonly ItemData[];
  links: readonly NewRequest[];
  resultDigest: string;
  doneAt: number;
}

export type * from './ops-storage.ts'; // schedules, webhooks, re-crawls: their rows and methods
export interface Storage extends OpsStorage<StoredItem>, CrawlSyncStorage /* the fleet's methods (docs/scale-out.md): fleet-rows.ts, crawl-sync.ts */, ContributorStorage /* the board's: contributor-rows.ts */, SpecVersionStore {
  // Crawls
  /** Records a crawl, its start URLs and sources; answers with the row and the URLs queued. */
  createCrawl(crawl: NewCrawl): Promise<{ row: CrawlRow; queued: QueuedEntry[]; sources: number }>;
  listCrawls(): Promise<CrawlRow[]>;
  setCrawlStatus(id: string, s: { status: CrawlStatus; finishReason: string | null; startedAt: number | null; finishedAt: number | null }): Promise<void>;

  // The frontier's queue
  countQueued(crawlId: string): Promise<number>;
  /** A host's queued URLs after `afterSeq`, in queue order. */
  loadQueued(crawlId: string, host: string, afterSeq: number, limit: number): Promise<QueuedEntry[]>;
  /** The first host after `afterHost` (in byte order) with a queued URL. */
  nextQueuedHost(crawlId: string, afterHost: string): Promise<string | undefined>;

  // Outcomes: each bumps the crawl's counters in the same transaction
  /** Records a page's result, its items and new links; `recorded` is false when the page already had one (nothing changed). */
  recordPage(page: PageRecord & FleetLimit): Promise<RecordedPage<QueuedEntry>>;
  /** Ends a queued request as failed or skipped; false when it had already ended. */
  endRequest(crawlId: string, key: string, state: 'failed' | 'skipped', e: EndedRequest): Promise<boolean>;
  /** Puts a failed request back at the end of its host's queue, not before `notBefore`; answers with its new place. */
  requeue(crawlId: string, key: string, r: { attempts: number; notBefore: number; code: string; message: string }): Promise<QueuedEntry | undefined>;

  // Start sources (sitemaps, robots.txt)
  countPendingSources(crawlId: string): Promise<number>;
  nextPendingSource(crawlId: string): Promise<SourceRow | undefined>;
  listSources(crawlId: string): Promise<SourceRow[]>;
  /** URLs queued from the crawl's sources so far. */
  sumSourceUrls(crawlId: string): Promise<number>;
  retrySource(crawlId: string, url: string, r: { attempts: number; notBefore: number; code: string; message: string }): Promise<void>;
  failSource(crawlId: string, url: string, e: { attempts: number; code: string; message: string; at: number }): Promise<void>;
  /** Marks a source read: adds the sources it names and queues up to `budget` new URLs from it, in one transaction. */
  completeSource(
    crawlId: string,
    url: string,
    c: { attempts: number; at: number; sources: readonly NewSource[]; urls: readonly NewRequest[]; budget: number },
  ): Promise<{ queued: QueuedEntry[] }>;

  // Reads for the console, the API and exports
  getRequest(crawlId: string, key: string): Promise<RequestRow | undefined>;
  countByState(crawlId: string): Promise<Record<RequestState, number>>;
  requestsByState(crawlId: string, state: RequestState, limit: number, offset: number): Promise<RequestRow[]>;
  errorSummary(crawlId: string): Promise<ErrorSummaryRow[]>;
  /** Failed and skipped pages by error code and host, largest group first, each with its latest example. */
  errorGroups(crawlId: string, limit?: number): Promise<AdminErrorGroup[]>;
  countItems(crawlId: string): Promise<number>;
  /** A crawl's items after id `after`, in pages of `batch` rows, so a million items never sit in memory at once. */
  iterateItems(crawlId: string, batch?: number, after?: number): AsyncGenerator<StoredItem>;
  /** Items whose data or URL contains `text`, after id `after`, at most `limit`. */
  searchItems(crawlId: string, text: string, after: number, limit: number): Promise<StoredItem[]>;

  // Bans (browsers and addresses)
  listBans(): Promise<BanRow[]>;
  addBan(ban: BanRow): Promise<void>;
  /** False when there was no such ban. */
  removeBan(kind: BanKind, value: string): Promise<boolean>;

  // Trust (server/validate/)
  listTrust(): Promise<TrustRow[]>;
  /** Writes the rows as they are (absolute values): for copying a data dir (crowdcrawl migrate); hubs use updateTrust. */
  saveTrust(rows: readonly TrustRow[]): Promise<void>;
  /** Shared by a fleet: adds each change to its record (made if new) in one transaction, so no hub overwrites another's counts; answers the records as they now stand. */
  updateTrust(changes: readonly TrustChange[]): Promise<TrustRow[]>;
  listWorkerTokens(): Promise<WorkerTokenRow[]>;
  insertWorkerToken(row: WorkerTokenRow): Promise<void>;
  deleteWorkerToken(id: string): Promise<boolean>;
  /** Done pages of this browser's that were accepted on trust. */
  trustedPagesOf(clientId: string): Promise<TrustedPage[]>;
  getBody(contentHash: string): Promise<Uint8Array | undefined>;
  /** Forgets bodies stored before `before`; answers how many. */
  pruneBodies(before: number): Promise<number>;
  /** Replaces a done page's items and queues its links (the hub's result over the same bytes), in one transaction. */
  replacePage(page: ReplacedPage): Promise<{ itemsBefore: number; itemsAfter: number; queued: QueuedEntry[] }>;
  /** Removes a done page's items and queues it again (its body is gone: it is re-crawled); undefined when it was not done. */
  withdrawPage(crawlId: string, key: string): Promise<{ itemsRemoved: number; queued: QueuedEntry } | undefined>;

  // The admin console's library of saved specs
  /** Every saved spec, the latest updated first. */
  listSpecs(): Promise<SavedSpecRow[]>;
  getSpec(id: string): Promise<SavedSpecRow | undefined>;
  /** Whether a saved spec has this name, case aside. */
  specNameTaken(name: string): Promise<boolean>;
  /** Saves a new spec; throws SpecNameTakenError when its name is taken. */
  insertSpec(row: SavedSpecRow): Promise<SavedSpecRow>;
  /** Renames and/or replaces a saved spec; undefined when there is none with that id; throws SpecNameTakenError when the name is taken. */
  updateSpec(id: string, change: { name: string; spec: string; updatedAt: number }): Promise<SavedSpecRow | undefined>;
  /** False when there was no such spec. */
  deleteSpec(id: string): Promise<boolean>;

  // The item feed (server/export/feed.ts: export --follow, GET /api/crawls/:id/feed)
  /**
   * Up to `limit` entries of a crawl's feed after position `after` (0: from
   * the start), in position order: each item stored, and each item withdrawn
   * (a tombstone naming its id: a caught cheater's results are removed or
   * replaced). Only items that passed validation are ever stored, so the feed
   * never shows a pending one.
   *
   * The guarantee a follower relies on, which every backend must keep: within
   * a crawl, positions increase in COMMIT order and are never reused, so a
   * reader that has seen every entry up to position N never misses one that
   * commits later (it gets a position above N). SQLite: one writer assigns
   * positions inside its transaction (sqlite/item-feed.ts). PostgreSQL: a
   * sequence's values are NOT in commit order (a transaction that drew 7 can
   * commit before one that drew 6, and a reader between them skips 6), so a
   * backend there must take positions from a per-crawl counter bumped under
   * the crawl row's lock (`UPDATE crawls SET feed_position = feed_position + n
   * ... RETURNING`, in the transaction that stores the items or tombstones),
   * which orders the crawl's writers by commit.
   */
  itemFeed(crawlId: string, after: number, limit: number): Promise<FeedEntry[]>;

  // Metrics (server/metrics/): a backend reports how long its commits take.
  /**
   * Calls `observer` after each transaction that made writes durable, with its
   * duration in seconds and the writes it held (SQLite's group commit holds
   * many). One observer at a time; undefined removes it. Called on the write
   * path: it must only count.
   */
  observeCommits(observer: CommitObserver | undefined): void;

  close(): Promise<void>;
}

/** An entry of Storage.itemFeed: an item stored, or the id of an item withdrawn. `cursor` is its position. */
export type FeedEntry = { cursor: number; item: StoredItem } | { cursor: number; withdrawn: number };

/** See Storage.observeCommits. */
export type CommitObserver = (seconds: number, writes: number) => void;
