// The shapes of the hub's admin HTTP API (/api): what its routes answer with and
// what they accept. Types only: the hub (server/admin/*) builds these answers,
// the console (client/admin) and the CLI (server/cli) read them, and all three
// import them from here so a change to one answer is seen by every reader.
// Request bodies are still checked by the hub at run time (zod or by hand): a
// type here says what a well-behaved client sends, not what the hub trusts.
import type { ExtractedItem, FieldValue } from './extract/engine.ts';
import type { ErrorCode } from './errors.ts';
import type { Spec } from './spec/schema.ts';
import type { WorkerKind } from './protocol.ts';

// ---------------------------------------------------------------------------
// Errors

/** Every error answer: `{ error: { code, message, details? } }` with the code's HTTP status (shared/errors.ts). */
export interface ApiErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

/** One problem of a SPEC_INVALID answer (its `details` is a list of these). */
export interface ApiIssue {
  path: string;
  message: string;
}

// ---------------------------------------------------------------------------
// Crawls: GET/POST /crawls, GET /crawls/:id, POST /crawls/:id/{start,pause,resume,cancel}

export type CrawlStatus = 'created' | 'running' | 'paused' | 'finished' | 'cancelled' | 'failed';

export interface CrawlSummary {
  id: string;
  name: string;
  status: CrawlStatus;
  finishReason: string | null;
  specVersion: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  pagesDone: number;
  pagesFailed: number;
  pagesSkipped: number;
  /** Queued URLs a newer spec version no longer allowed (counted in pagesSkipped too, code SPEC_DROPPED). */
  droppedBySpec: number;
  items: number;
  /** How the crawl's results were believed (docs/trust.md). */
  validation: CrawlValidation;
  queued: number;
  inFlight: number;
  /** Sitemaps (and robots.txt files read for their Sitemap: lines) not yet read. */
  sourcesPending: number;
  /** Hosts the frontier holds in memory now. */
  hostsActive: number;
  /** The largest delay between two fetches now in force on one host (AutoThrottle, Crawl-delay, perHostDelayMs). */
  maxHostDelayMs: number;
}

// ---------------------------------------------------------------------------
// Spec versions: PUT /crawls/:id/spec (a new version for a running crawl), GET /crawls/:id/versions

/** One version of a crawl's spec, with what was extracted under it. */
export interface SpecVersionView {
  version: number;
  /** When it came in (the crawl's creation for the first). */
  createdAt: number;
  /** Items recorded with this version. */
  items: number;
  /** Queued URLs dropped when it came in, because its rules no longer allowed them. */
  dropped: number;
  /** The spec, defaults filled in. */
  spec: unknown;
  /** The version new leases get. */
  current: boolean;
}

export interface SpecVersionList {
  crawlId: string;
  current: number;
  versions: SpecVersionView[];
}

/** The answer to PUT /crawls/:id/spec: the crawl as it is now, and what the new version dropped. */
export interface SpecUpdated {
  crawl: CrawlSummary;
  version: number;
  dropped: number;
}

export interface CrawlValidation {
  /** Pages whose result a second opinion confirmed (or the hub's own extraction decided). */
  checked: number;
  /** Pages accepted on trust: from a contributor past probation not drawn for a check, or an operator's worker. */
  trusted: number;
  /** Results refused (wrong on a check, links not in the page, not fitting the spec, or withdrawn later). */
  rejected: number;
  /** Pages in flight whose result waits for a second opinion. */
  pending: number;
  /** Extractions done only to check results: the cost of validation, beside pagesDone. */
  extraExtractions: number;
  /** Items removed after their contributor was caught cheating. */
  itemsWithdrawn: number;
}

/** GET /crawls. */
export interface CrawlList {
  crawls: CrawlSummary[];
}

/** POST /crawls: a spec, or this (`start` defaults to true). */
export interface CreateCrawlRequest {
  spec: unknown;
  start?: boolean;
}

export interface CrawlErrorGroup {
  code: string | null;
  host: string;
  count: number;
  exampleUrl: string;
}

/** GET /crawls/:id. */
export interface CrawlDetail extends CrawlSummary {
  spec: Spec;
  /** Requests by stored state; a leased URL is still `queued` in storage (see `inFlight`). */
  counts: { queued: number; done: number; failed: number; skipped: number };
  /** Failed and skipped pages grouped by error code and host, largest group first. */
  errors: CrawlErrorGroup[];
}

// ---------------------------------------------------------------------------
// A crawl's pages and items: GET /crawls/:id/pages, GET /crawls/:id/items

export interface PageView {
  url: string;
  host: string;
  depth: number;
  attempts: number;
  finalUrl: string | null;
  httpStatus: number | null;
  items: number | null;
  links: number | null;
  worker: string | null;
  specVersion: number | null;
  errorCode: string | null;
  errorMessage: string | null;
  doneAt: number | null;
}

export interface PageList {
  pages: PageView[];
  state: string;
  total: number;
  limit: number;
  offset: number;
}

export interface ItemView {
  /** Storage order; pass the last one as `after` for the next page. */
  id: number;
  url: string;
  type: string;
  data: Record<string, FieldValue>;
  specVersion: number;
  extractedAt: number;
}

export interface ItemsPage {
  items: ItemView[];
  /** The `after` of the next page, or null on the last one. */
  next: number | null;
  /** Every item of the crawl; null for a search (counting its hits would scan every item). */
  total: number | null;
}

// ---------------------------------------------------------------------------
// The hub: GET /workers, GET /stats

export interface WorkerView {
  id: string;
  name: string;
  kind: WorkerKind;
  /** The browser's (or process's) lasting id, which a ban applies to. */
  clientId: string;
  address: string;
  connectedAt: number;
  capacity: number;
  leasesHeld: number;
  pagesDone: number;
  items: number;
  failures: number;
  /** Pages completed in the last 60 seconds. */
  pagesLastMinute: number;
}

export interface WorkerList {
  workers: WorkerView[];
}

// ---------------------------------------------------------------------------
// GET /hubs: the fleet of hubs sharing this hub's database (docs/scale-out.md)

export interface HubView {
  id: string;
  /** The URL it is reached at (its relay's address). */
  address: string;
  version: string;
  startedAt: number;
  /** Its last heartbeat (epoch ms). */
  heartbeatAt: number;
  /** Workers connected to it, as of its last heartbeat. */
  workers: number;
  leases: number;
  pagesPerSec: number;
  /** Heartbeat within hubDeadAfterMs; a hub that is not alive had its leases given back to the queue. */
  alive: boolean;
  /** The hub that answered. */
  self: boolean;
}

/**
 * Whether the hub can reach its storage (docs/scale-out.md "The database away
 * for a while"). While it cannot, no lease is granted and workers stay
 * connected; results are answered STORAGE_FAILED and sent again.
 */
export interface StorageStatus {
  available: boolean;
  /** Since when it cannot be reached (epoch ms; null when it can). */
  unavailableSince: number | null;
  /** STORAGE_UNAVAILABLE while it cannot be reached. */
  code: 'STORAGE_UNAVAILABLE' | null;
}

export interface HubList {
  /** The fleet's hubs; while storage cannot be reached, as last read. */
  hubs: HubView[];
  /** This hub's storage. */
  storage: StorageStatus;
}

export interface HubStats {
  crawls: { total: number; byStatus: Record<CrawlStatus, number> };
  workers: { connected: number; byKind: Record<WorkerKind, number> };
  leasesInFlight: number;
  pagesDone: number;
  pagesFailed: number;
  pagesSkipped: number;
  items: number;
}

// ---------------------------------------------------------------------------
// POST /preview: a spec tried on one page

export interface PreviewRequest {
  spec: unknown;
  /** Defaults to the spec's first start URL. */
  url?: string;
}

export interface PreviewResult {
  url: string;
  finalUrl: string;
  status: number;
  contentType: string;
  charset: string;
  elapsedMs: number;
  items: ExtractedItem[];
  itemsTotal: number;
  links: string[];
  linksTotal: number;
}

// ---------------------------------------------------------------------------
// The spec library: /specs

export interface SavedSpecSummary {
  id: string;
  name: string;
  /** The spec's own name (what crawls started from it are called). */
  specName: string;
  startUrls: number;
  createdAt: number;
  updatedAt: number;
}

export interface SavedSpec extends SavedSpecSummary {
  /** The spec as written. */
  spec: unknown;
}

export interface SavedSpecList {
  specs: SavedSpecSummary[];
}

/** POST /specs (the name defaults to the spec's own). */
export interface SaveSpecRequest {
  name?: string;
  spec: unknown;
}

/** PUT /specs/:id: a new name, a new spec, or both. */
export interface UpdateSpecRequest {
  name?: string;
  spec?: unknown;
}

/** POST /specs/:id/duplicate (the name defaults to "<name> (copy)"). */
export interface DuplicateSpecRequest {
  name?: string;
}

// ---------------------------------------------------------------------------
// The console's session: GET/POST/DELETE /session

export interface SignInRequest {
  token: string;
}

export interface SessionReply {
  csrfToken: string;
  expiresAt: number;
  idleMs: number;
}

/** One row of GET /api/trust: a browser (by client id) or an address, as validation has seen it. */
export interface ContributorTrust {
  kind: 'client' | 'address';
  /** The client id or the address. */
  value: string;
  /** The nickname last seen (browsers) or the address. */
  label: string;
  checked: number;
  valid: number;
  invalid: number;
  /** Results accepted without a check (past probation, not drawn). */
  trusted: number;
  strikes: number;
  consecutiveValid: number;
  /** probation: every result checked; trusted: checked at `checkRate`; banned. */
  state: 'probation' | 'trusted' | 'banned';
  /** The share of this contributor's results checked now (1 on probation). */
  checkRate: number;
  lastReason: string | null;
  updatedAt: number;
}

export interface TrustList {
  contributors: ContributorTrust[];
  settings: { probationResults: number; minCheckRate: number; strikesToBan: number };
}

export interface BanView {
  kind: 'client' | 'address';
  value: string;
  reason: string;
  createdAt: number;
}

export interface BanList {
  bans: BanView[];
}

/** POST /api/bans: ban a browser (client id), an address, or both. */
export interface BanRequest {
  clientId?: string;
  address?: string;
  reason?: string;
}

export interface WorkerTokenView {
  id: string;
  name: string;
  createdAt: number;
}

export interface WorkerTokenList {
  tokens: WorkerTokenView[];
}

/** POST /api/worker-tokens answers with the token itself, once: only its hash is kept. */
export interface IssuedWorkerToken extends WorkerTokenView {
  token: string;
}
