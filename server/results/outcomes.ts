// How a lease ends: with a result (items and links recorded in one transaction
// with the frontier changes, acknowledged only after the commit), or with a
// failure (retried later with backoff, or recorded as failed). Results that
// arrive in the same turn of the event loop share one transaction (group commit).
import { RESULT_LIMITS, type ProtocolError } from '../../shared/protocol.ts';
import { normalizeUrl, urlKey } from '../../shared/url/canonical.ts';
import { isLinkFollowable } from '../../shared/extract/links.ts';
import { RequestState } from '../storage/db.ts';
import type { Store } from '../storage/store.ts';
import type { FrontierEntry } from '../frontier/frontier.ts';
import type { Crawl, CrawlRegistry } from '../crawl/crawls.ts';
import type { LeaseManager, LeaseRecord } from '../lease/leases.ts';

export interface ValidResult {
  items: { type: string; data: Record<string, string | string[] | null> }[];
  /** Links to queue, checked and canonical, with the dedup key and host worked out once. */
  links: { url: string; key: string; host: string }[];
}

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface OutcomeEvents {
  /** A page was recorded (for live stats). */
  onPageDone?(record: LeaseRecord, items: number, links: number): void;
  onPageFailed?(record: LeaseRecord, code: string, final: boolean): void;
  /** The frontier changed: new work may be leasable. */
  onWork?(): void;
}

/** The crawl's retry settings: its spec's, with the hub's defaults for what it leaves out. */
export function retryPolicyFor(crawl: Crawl, defaults: RetryPolicy): RetryPolicy {
  const own = crawl.spec.retry;
  return {
    maxAttempts: own?.maxAttempts ?? defaults.maxAttempts,
    baseDelayMs: own?.baseDelayMs ?? defaults.baseDelayMs,
    maxDelayMs: own?.maxDelayMs ?? defaults.maxDelayMs,
  };
}

/**
 * When to try a failed page again: exponential backoff with "equal jitter"
 * (half fixed, half random, so retries of many pages spread out), at least the
 * server's Retry-After, and never later than four times maxDelayMs (a
 * Retry-After of a day is not waited for).
 */
export function retryDelayMs(policy: RetryPolicy, attempts: number, retryAfterMs: number | undefined, random = Math.random()): number {
  const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempts - 1));
  const jittered = backoff / 2 + random * (backoff / 2);
  return Math.round(Math.min(policy.maxDelayMs * 4, Math.max(jittered, retryAfterMs ?? 0)));
}

interface QueuedSkip {
  crawl: Crawl;
  entry: FrontierEntry;
  code: string;
  message: string;
}

interface Pending {
  record: LeaseRecord;
  result: ValidResult;
  resolve: (reply: { ok: true; duplicate: boolean } | { ok: false; error: ProtocolError }) => void;
}

export class Outcomes {
  private readonly store: Store;
  private readonly crawls: CrawlRegistry;
  private readonly leases: LeaseManager;
  private readonly retry: RetryPolicy;
  private readonly events: OutcomeEvents;
  private pending: Pending[] = [];
  private flushScheduled = false;
  private skips: QueuedSkip[] = [];
  private skipFlushScheduled = false;

  constructor(store: Store, crawls: CrawlRegistry, leases: LeaseManager, retry: RetryPolicy, events: OutcomeEvents = {}) {
    this.store = store;
    this.crawls = crawls;
    this.leases = leases;
    this.retry = retry;
    this.events = events;
  }

  /**
   * Checks a result against the crawl's spec: item types and fields the spec
   * defines; links that are http(s), canonical and allowed by its follow rules.
   * Returns an error message, or the result with disallowed links dropped.
   */
  check(record: LeaseRecord, items: ValidResult['items'], links: string[]): ValidResult | string {
    const crawl = record.crawl;
    for (const [i, item] of items.entries()) {
      const fields = crawl.itemFields.get(item.type);
      if (!fields) return `items[${i}].type: the spec has no item type "${item.type}"`;
      for (const name of Object.keys(item.data)) {
        if (!fields.has(name)) return `items[${i}].data.${name}: not a field of item type "${item.type}"`;
      }
    }
    const pageUrl = record.fetched?.finalUrl ?? record.entry.url;
    const maxDepth = crawl.spec.limits.maxDepth;
    const kept: ValidResult['links'] = [];
    const seen = new Set<string>();
    if (maxDepth === undefined || record.entry.depth + 1 <= maxDepth) {
      for (const link of links) {
        const url = normalizeUrl(link);
        if (!url || url.length > RESULT_LIMITS.maxUrlLength) continue;
        const key = urlKey(url);
        if (seen.has(key)) continue;
        seen.add(key);
        if (isLinkFollowable(crawl.spec, pageUrl, url, record.entry.depth)) kept.push({ url, key, host: new URL(url).host });
      }
    }
    return { items, links: kept };
  }

  /** Records a page's result; resolves once it is committed. */
  submit(record: LeaseRecord, result: ValidResult): Promise<{ ok: true; duplicate: boolean } | { ok: false; error: ProtocolError }> {
    record.committing = true;
    return new Promise((resolve) => {
      this.pending.push({ record, result, resolve });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const now = Date.now();
    const recorded: boolean[] = [];
    try {
      this.store.transaction(() => {
        for (const { record, result } of batch) recorded.push(this.record(record, result, now));
      });
    } catch (error) {
      // Nothing of the batch was stored. The leases stay with their workers, who
      // may send the result again; the frontier's memory is rebuilt from storage.
      const message = `the hub could not store the result: ${(error as Error).message}`;
      const crawls = new Set(batch.map((p) => p.record.crawl));
      for (const crawl of crawls) if (crawl.isActive) crawl.frontier.resync();
      for (const p of batch) {
        p.record.committing = false;
        p.resolve({ ok: false, error: { code: 'STORAGE_FAILED', message } });
      }
      return;
    }
    const touched = new Set(batch.map((p) => p.record.crawl));
    for (const [i, { record, result, resolve }] of batch.entries()) {
      const crawl = record.crawl;
      this.leases.end(record, 'done');
      if (crawl.isActive) crawl.frontier.finish(record.entry);
      if (recorded[i]) {
        crawl.pagesDone++;
        crawl.items += result.items.length;
        this.events.onPageDone?.(record, result.items.length, result.links.length);
      }
      resolve({ ok: true, duplicate: !recorded[i] });
    }
    for (const crawl of touched) this.crawls.checkFinished(crawl);
    this.events.onWork?.();
  }

  /** Writes one page's result inside the batch's transaction; false when the page already had one. */
  private record(record: LeaseRecord, result: ValidResult, now: number): boolean {
    const crawl = record.crawl;
    const fetched = record.fetched!;
    const done = this.store.markDone({
      crawlId: crawl.id,
      key: record.entry.key,
      finalUrl: fetched.finalUrl,
      httpStatus: fetched.status,
      contentHash: fetched.contentHash,
      items: result.items.length,
      links: result.links.length,
      worker: record.workerId,
      leaseId: record.id,
      specVersion: crawl.specVersion,
      doneAt: now,
    });
    if (!done) return false;
    for (const item of result.items) {
      this.store.insertItem({
        crawlId: crawl.id,
        requestKey: record.entry.key,
        url: fetched.finalUrl,
        type: item.type,
        data: JSON.stringify(item.data),
        specVersion: crawl.specVersion,
        worker: record.workerId,
        createdAt: now,
      });
    }
    // The crawl may already be over (e.g. maxPages reached earlier in this batch): record the page, queue nothing.
    if (crawl.status === 'running' || crawl.status === 'paused') {
      const depth = record.entry.depth + 1;
      for (const link of result.links) crawl.frontier.add(link.url, link.key, link.host, depth);
    }
    this.store.bumpCounters(crawl.id, { done: 1, items: result.items.length, nextSeq: crawl.frontier.nextSeq });
    return true;
  }

  /**
   * A lease failed (the relay could not fetch the page, or the worker could not
   * process it). Retryable failures go back to the queue with exponential
   * backoff and jitter until maxAttempts; the others are recorded at once.
   */
  fail(
    record: LeaseRecord,
    failure: { code: string; message: string; retryable: boolean; retryAfterMs?: number; httpStatus?: number; finalUrl?: string },
    endedAs: 'failed' | 'expired' = 'failed',
  ): void {
    if (record.committing || !this.leases.get(record.id)) return;
    const crawl = record.crawl;
    const entry = record.entry;
    this.leases.end(record, endedAs);
    if (!crawl.isActive) return;
    const attempts = entry.attempts + 1;
    const now = Date.now();
    const policy = retryPolicyFor(crawl, this.retry);
    if (failure.retryable && attempts < policy.maxAttempts) {
      entry.attempts = attempts;
      const delay = retryDelayMs(policy, attempts, failure.retryAfterMs);
      crawl.frontier.retryLater(entry, now + delay, failure.code, failure.message);
      this.events.onPageFailed?.(record, failure.code, false);
    } else {
      const message = failure.retryable ? `${failure.message} (gave up after ${attempts} attempts)` : failure.message;
      this.endRequest(record, RequestState.FAILED, { ...failure, message, attempts, at: now });
      this.events.onPageFailed?.(record, failure.code, true);
    }
    this.crawls.checkFinished(crawl);
    this.events.onWork?.();
  }

  /** A lease's URL is not to be fetched at all (e.g. robots.txt disallows it). */
  skip(record: LeaseRecord, code: string, message: string): void {
    if (record.committing || !this.leases.get(record.id)) return;
    this.leases.end(record, 'failed');
    if (!record.crawl.isActive) return;
    this.endRequest(record, RequestState.SKIPPED, { code, message, attempts: record.entry.attempts, at: Date.now() });
    this.crawls.checkFinished(record.crawl);
    this.events.onWork?.();
  }

  /**
   * A queued URL the frontier's gate dropped before any lease (robots.txt
   * disallows it): recorded as skipped, in one transaction with the others of
   * this turn of the event loop.
   */
  skipQueued(crawl: Crawl, entry: FrontierEntry, code: string, message: string): void {
    this.skips.push({ crawl, entry, code, message });
    if (!this.skipFlushScheduled) {
      this.skipFlushScheduled = true;
      setImmediate(() => this.flushSkips());
    }
  }

  private flushSkips(): void {
    this.skipFlushScheduled = false;
    const batch = this.skips;
    this.skips = [];
    if (batch.length === 0) return;
    const now = Date.now();
    const recorded: boolean[] = [];
    let failed = false;
    try {
      this.store.transaction(() => {
        for (const { crawl, entry, code, message } of batch) {
          const ok = crawl.isActive && this.store.markEnded(crawl.id, entry.key, RequestState.SKIPPED, { code, message, attempts: entry.attempts, at: now });
          if (ok) this.store.bumpCounters(crawl.id, { skipped: 1 });
          recorded.push(ok);
        }
      });
    } catch {
      // Nothing was stored: the URLs are still queued on disk, and come back from there.
      failed = true;
    }
    const touched = new Set<Crawl>();
    for (const [i, { crawl, entry }] of batch.entries()) {
      crawl.frontier.finishDropped(entry);
      if (!failed && recorded[i]) crawl.pagesSkipped++;
      touched.add(crawl);
    }
    for (const crawl of touched) {
      if (failed && crawl.isActive) crawl.frontier.resync();
      this.crawls.checkFinished(crawl);
    }
    this.events.onWork?.();
  }

  private endRequest(
    record: LeaseRecord,
    state: typeof RequestState.FAILED | typeof RequestState.SKIPPED,
    e: { code: string; message: string; attempts: number; at: number; httpStatus?: number; finalUrl?: string },
  ): void {
    const crawl = record.crawl;
    const changed = this.store.transaction(() => {
      const ok = this.store.markEnded(crawl.id, record.entry.key, state, e);
      if (ok) this.store.bumpCounters(crawl.id, state === RequestState.FAILED ? { failed: 1 } : { skipped: 1 });
      return ok;
    });
    crawl.frontier.finish(record.entry);
    if (changed) {
      if (state === RequestState.FAILED) crawl.pagesFailed++;
      else crawl.pagesSkipped++;
    }
  }
}
