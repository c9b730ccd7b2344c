// One crawl as the hub holds it in memory: its spec, its life-cycle state and
// counters (as storage last committed them), and its frontier.
import type { Spec } from '../../shared/spec/schema.ts';
import type { CrawlSummary, CrawlStatus } from '../../shared/admin-api.ts';
import type { CrawlRow } from '../storage/storage.ts';
import type { CrawlFrontier, HostQueue } from '../frontier/frontier.ts';

export type FinishReason = 'completed' | 'maxPages' | 'maxDuration' | 'cancelled';

/** AutoThrottle's settings for a crawl's hosts. */
export interface ThrottleSettings {
  enabled: boolean;
  targetConcurrency: number;
  maxDelayMs: number;
}

/** One host of a crawl as politeness sees it (GET /api/crawls/:id/hosts). */
export interface HostStats {
  host: string;
  /** The delay now in force between two fetches. */
  delayMs: number;
  /** Its floor: perHostDelayMs, or robots.txt's Crawl-delay when larger. */
  minDelayMs: number;
  crawlDelayMs: number | null;
  /** Moving average of fetch latency. */
  latencyMs: number | null;
  inFlight: number;
  concurrency: number;
  /** 429/503 answers and timeouts that made it back off. */
  backoffs: number;
  lastStatus: number | null;
  /** Waiting for its robots.txt. */
  held: boolean;
  /** Epoch ms it is paused until (Retry-After, unreachable robots.txt), or null. */
  pausedUntil: number | null;
}

function hostStats(host: HostQueue, now: number): HostStats {
  return {
    host: host.host,
    delayMs: host.delayMs,
    minDelayMs: host.minDelayMs,
    crawlDelayMs: host.crawlDelayMs ?? null,
    latencyMs: host.latencyMs ?? null,
    inFlight: host.inFlight,
    concurrency: host.concurrency,
    backoffs: host.backoffs,
    lastStatus: host.lastStatus ?? null,
    held: host.held,
    pausedUntil: host.pausedUntil > now ? host.pausedUntil : null,
  };
}

/** What a crawl keeps of its summary; the rest (queue figures) comes from its frontier. */
type CrawlState = Omit<CrawlRow, 'spec'>;

/** Counter changes storage has committed. */
export interface CountDelta {
  done?: number;
  failed?: number;
  skipped?: number;
  items?: number;
  /** Validation figures (ValidationCounts' fields). */
  checked?: number;
  trusted?: number;
  rejected?: number;
  extraExtractions?: number;
  itemsWithdrawn?: number;
}

// The summary's fields are declared once, in shared/admin-api.ts; the class gets them by declaration merging.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Crawl extends CrawlState {}

/**
 * One version of a crawl's spec, with what checking a result against it needs:
 * a result is checked against the version its lease was granted under.
 */
export class SpecVersion {
  readonly version: number;
  readonly spec: Spec;
  /** Field names per item type, each with whether it holds a list (`all`), to check what a worker sends back. */
  readonly itemFields: Map<string, Map<string, boolean>>;

  constructor(spec: Spec) {
    this.version = spec.version;
    this.spec = spec;
    this.itemFields = new Map();
    for (const rule of spec.items) {
      const fields = this.itemFields.get(rule.type) ?? new Map<string, boolean>();
      for (const [name, field] of Object.entries(rule.fields)) fields.set(name, fields.get(name) === true || field.all === true);
      this.itemFields.set(rule.type, fields);
    }
  }
}

export class Crawl {
  readonly frontier: CrawlFrontier;
  readonly throttle: ThrottleSettings;
  /** Sources (sitemaps) not yet read: the crawl cannot end before they are. */
  pendingSources = 0;
  /** Pages whose result waits for a second opinion (server/validate/): in flight, not yet done. */
  pendingChecks = 0;
  /** Status writes, in order. */
  statusWrites: Promise<void> = Promise.resolve();
  /** Told every change of the counters, after it is applied (the registry's `count` event: metrics). */
  onCount: ((delta: CountDelta) => void) | undefined;
  /** Every version of the spec this hub knows, by version; `specVersion` is the one new leases get. */
  private readonly versions = new Map<number, SpecVersion>();
  /** Queued URLs dropped because a newer spec version no longer allowed them (server/crawl/respec.ts). */
  droppedBySpec = 0;
  /** Set while a new spec version's drop runs: the crawl grants no lease until its queue is sorted out. */
  respecing = false;
  /** Spec changes, one after another. */
  specWrites: Promise<unknown> = Promise.resolve();

  constructor(row: CrawlRow, spec: Spec, frontier: CrawlFrontier) {
    const { spec: _json, ...state } = row;
    Object.assign(this, state satisfies CrawlState);
    this.frontier = frontier;
    this.versions.set(row.specVersion, new SpecVersion(spec));
    this.throttle = { enabled: false, targetConcurrency: 1, maxDelayMs: 0 };
    this.applyThrottle();
  }

  /** The spec new leases are granted under. */
  get spec(): Spec {
    return this.versions.get(this.specVersion)!.spec;
  }

  get itemFields(): Map<string, Map<string, boolean>> {
    return this.versions.get(this.specVersion)!.itemFields;
  }

  /** A version of the spec, if this hub knows it. */
  specFor(version: number): SpecVersion | undefined {
    return this.versions.get(version);
  }

  /** Versions this hub knows, oldest first. */
  get specVersions(): SpecVersion[] {
    return [...this.versions.values()].sort((a, b) => a.version - b.version);
  }

  /** Adds an older version (kept in storage), e.g. to check a result of it after a restart. */
  keepVersion(spec: Spec): void {
    if (!this.versions.has(spec.version)) this.versions.set(spec.version, new SpecVersion(spec));
  }

  /** Makes a stored new version the current one: new leases get it; leases of older ones keep theirs. */
  useVersion(spec: Spec): void {
    this.versions.set(spec.version, new SpecVersion(spec));
    this.specVersion = spec.version;
    this.applyThrottle();
  }

  private applyThrottle(): void {
    const spec = this.spec;
    const auto = spec.politeness.autoThrottle;
    this.throttle.enabled = auto.enabled;
    this.throttle.targetConcurrency = auto.targetConcurrency ?? spec.politeness.perHostConcurrency;
    this.throttle.maxDelayMs = auto.maxDelayMs;
  }

  get isActive(): boolean {
    return this.status === 'running' || this.status === 'paused';
  }

  /** Bumped by every count(): a fleet's sync tick leaves the counters alone when they moved while it read the row. */
  countVersion = 0;

  /** The one place the counters change: after storage committed the change. */
  count(delta: CountDelta): void {
    this.countVersion++;
    this.pagesDone += delta.done ?? 0;
    this.pagesFailed += delta.failed ?? 0;
    this.pagesSkipped += delta.skipped ?? 0;
    this.items += delta.items ?? 0;
    const v = this.validation;
    v.checked += delta.checked ?? 0;
    v.trusted += delta.trusted ?? 0;
    v.rejected += delta.rejected ?? 0;
    v.extraExtractions += delta.extraExtractions ?? 0;
    v.itemsWithdrawn += delta.itemsWithdrawn ?? 0;
    this.onCount?.(delta);
  }

  /** The counters as a fleet's storage holds them (server/crawl/sync.ts): the same figures on every hub. */
  setCounts(row: Pick<CrawlRow, 'pagesDone' | 'pagesFailed' | 'pagesSkipped' | 'items' | 'validation'>): void {
    this.pagesDone = row.pagesDone;
    this.pagesFailed = row.pagesFailed;
    this.pagesSkipped = row.pagesSkipped;
    this.items = row.items;
    Object.assign(this.validation, row.validation);
  }

  setStatus(status: CrawlStatus, reason: string | null, now: number): void {
    if (status === 'running' && this.startedAt === null) this.startedAt = now;
    if (status === 'finished' || status === 'cancelled' || status === 'failed') this.finishedAt = now;
    this.status = status;
    this.finishReason = reason;
  }

  /** How many more leases this crawl may grant without going over maxPages. */
  leaseBudget(): number {
    if (this.respecing) return 0;
    const max = this.spec.limits.maxPages;
    if (max === undefined) return Number.POSITIVE_INFINITY;
    return Math.max(0, max - this.pagesDone - this.frontier.inFlight);
  }

  /** The hosts in memory, those that wait longest first. */
  hostStats(now: number, limit = 100): HostStats[] {
    return [...this.frontier.hosts.values()]
      .sort((a, b) => b.delayMs - a.delayMs || b.inFlight - a.inFlight || (a.host < b.host ? -1 : 1))
      .slice(0, limit)
      .map((host) => hostStats(host, now));
  }

  summary(): CrawlSummary {
    let maxHostDelayMs = 0;
    for (const host of this.frontier.hosts.values()) if (host.delayMs > maxHostDelayMs) maxHostDelayMs = host.delayMs;
    return {
      id: this.id,
      name: this.name,
      status: this.status,
      finishReason: this.finishReason,
      specVersion: this.specVersion,
      droppedBySpec: this.droppedBySpec,
      createdAt: this.createdAt,
      startedAt: this.startedAt,
      finishedAt: this.finishedAt,
      pagesDone: this.pagesDone,
      pagesFailed: this.pagesFailed,
      pagesSkipped: this.pagesSkipped,
      items: this.items,
      validation: { ...this.validation, pending: this.pendingChecks },
      queued: this.frontier.queued,
      inFlight: this.frontier.inFlight,
      sourcesPending: this.pendingSources,
      hostsActive: this.frontier.hosts.size,
      maxHostDelayMs,
    };
  }
}
