// How a lease ends: with a result (items and links recorded in one
// transaction, acknowledged only after the commit), or with a failure (tried
// again later with backoff, or recorded as failed), or skipped. Storage writes;
// this step decides what to write and, once it is committed, moves the
// frontier and the crawl's counters.
import type { KeptBody } from '../storage/kept-bodies.ts';
import type { ProtocolError } from '../../shared/protocol.ts';
import { ErrorCode, type SkipCode } from '../../shared/errors.ts';
import type { EndedRequest, QueuedEntry, Storage, Validation } from '../storage/storage.ts';
import type { FrontierEntry } from '../frontier/frontier.ts';
import type { Crawl } from '../crawl/crawl.ts';
import type { CrawlRegistry } from '../crawl/registry.ts';
import { retryDelayMs, retryPolicyFor, type RetryPolicy } from '../crawl/retry.ts';
import type { LeaseManager, LeaseRecord } from '../lease/leases.ts';
import type { Clock } from '../clock.ts';
import { linksToQueue, type ResultTarget, type ValidResult } from './check.ts';

/** A page to record: its crawl, queue entry and fetch, and who it is credited to. */
export interface PageSource extends ResultTarget {
  /** The lease (or second-opinion lease) the recorded result came in on. */
  readonly id: string;
  readonly workerId: string;
}

/** How a result came to be believed, recorded with it (docs/trust.md). */
export interface Believed {
  clientId: string | null;
  validation: Validation;
  digest: string;
  rejected: number;
  extraExtractions: number;
  /** The served body, compressed, when the result is accepted on trust (for re-checks). */
  body?: KeptBody;
}

export interface ResultEvents {
  /** A page was recorded (for live stats). */
  onPageDone?(page: PageSource, items: number, links: number): void;
  onPageFailed?(record: LeaseRecord, code: ErrorCode, final: boolean): void;
  /** The frontier changed: new work may be leasable. */
  onWork?(): void;
  /** A write failed; what was written is unchanged and the page comes back. */
  onError?(error: unknown, what: string): void;
}

export interface Failure {
  code: ErrorCode;
  message: string;
  retryable: boolean;
  retryAfterMs?: number;
  httpStatus?: number;
  finalUrl?: string;
}

export type SubmitReply = { ok: true; duplicate: boolean } | { ok: false; error: ProtocolError };

export class Results {
  private readonly storage: Storage;
  private readonly crawls: CrawlRegistry;
  private readonly leases: LeaseManager;
  private readonly retry: RetryPolicy;
  private readonly clock: Clock;
  private readonly events: ResultEvents;

  constructor(storage: Storage, crawls: CrawlRegistry, leases: LeaseManager, retry: RetryPolicy, clock: Clock, events: ResultEvents = {}) {
    this.storage = storage;
    this.crawls = crawls;
    this.leases = leases;
    this.retry = retry;
    this.clock = clock;
    this.events = events;
  }

  /** Records a leased page's result (accepted on trust); answers once it is committed. */
  async submit(record: LeaseRecord, result: ValidResult, believed: Believed): Promise<SubmitReply> {
    record.committing = true;
    const outcome = await this.commit(record, result, believed);
    if (outcome === 'failed') {
      // Nothing was stored. The lease stays with its worker, who may send the result again.
      record.committing = false;
      return { ok: false, error: { code: ErrorCode.STORAGE_FAILED, message: 'the hub could not store the result; send it again' } };
    }
    this.leases.end(record, 'done');
    this.settle(record, outcome);
    // The last page of a crawl is acknowledged only once the crawl's end is stored too.
    await this.crawls.settled(record.crawl);
    return { ok: true, duplicate: !outcome.recorded };
  }

  /**
   * Records a page whose lease has ended and whose result a check decided
   * (server/validate/). If storage fails, the page goes back to the frontier:
   * its URL is still queued there, and is fetched again.
   */
  async record(page: PageSource, result: ValidResult, believed: Believed): Promise<void> {
    const outcome = await this.commit(page, result, believed);
    if (outcome === 'failed') {
      if (page.crawl.isActive) page.crawl.frontier.giveBack(page.entry);
      this.events.onWork?.();
      return;
    }
    this.settle(page, outcome);
  }

  /**
   * A re-crawl's page that did not change since the previous run: `carry`
   * records it with the previous run's items (server/ops/recrawl.ts). No
   * worker extracted it, so nobody is credited. False when the lease had
   * ended, or the write failed (then the page is failed for a retry).
   */
  async carry(record: LeaseRecord, carry: () => Promise<{ recorded: boolean; items: number }>): Promise<boolean> {
    if (record.committing || !this.leases.get(record.id)) return false;
    record.committing = true;
    let stored: { recorded: boolean; items: number };
    try {
      stored = await carry();
    } catch (error) {
      record.committing = false;
      this.events.onError?.(error, `recording an unchanged page of crawl ${record.crawl.id}`);
      this.fail(record, { code: ErrorCode.STORAGE_FAILED, message: 'the unchanged page could not be recorded', retryable: true });
      return false;
    }
    this.leases.end(record, 'done');
    if (stored.recorded) record.crawl.count({ done: 1, items: stored.items });
    if (record.crawl.isActive) record.crawl.frontier.finish(record.entry);
    this.crawls.checkFinished(record.crawl);
    this.events.onWork?.();
    return true;
  }

  /** A checked page that could not be decided goes back to the frontier: fetched again, by someone else. */
  giveBack(page: PageSource): void {
    if (page.crawl.isActive) page.crawl.frontier.giveBack(page.entry);
    this.events.onWork?.();
  }

  private async commit(page: PageSource, result: ValidResult, believed: Believed): Promise<{ recorded: boolean; queued: QueuedEntry[]; items: number; links: number } | 'failed'> {
    const crawl = page.crawl;
    const fetched = page.fetched!;
    try {
      const stored = await this.storage.recordPage({
        crawlId: crawl.id,
        key: page.entry.key,
        finalUrl: fetched.finalUrl,
        httpStatus: fetched.status,
        contentHash: fetched.contentHash,
        items: result.items,
        // The crawl may already be over (cancelled): record the page, queue nothing.
        links: crawl.isActive ? linksToQueue(page, result.links) : [],
        worker: page.workerId,
        leaseId: page.id,
        specVersion: page.specVersion,
        doneAt: this.clock.now(),
        clientId: believed.clientId,
        validation: believed.validation,
        resultDigest: believed.digest,
        rejected: believed.rejected,
        extraExtractions: believed.extraExtractions,
        ...(believed.body ? { body: believed.body } : {}),
        // In a fleet maxPages is kept on storage, across hubs (server/crawl/sync.ts).
        ...(this.crawls.shared && crawl.spec.limits.maxPages !== undefined ? { maxPages: crawl.spec.limits.maxPages } : {}),
      });
      if (stored.limitReached) this.crawls.reachedLimit(crawl);
      if (stored.recorded) {
        const checked = believed.validation === 'checked' || believed.validation === 'hub';
        crawl.count({
          done: 1,
          items: result.items.length,
          checked: checked ? 1 : 0,
          trusted: checked ? 0 : 1,
          rejected: believed.rejected,
          extraExtractions: believed.extraExtractions,
        });
      }
      return { ...stored, items: result.items.length, links: result.links.length };
    } catch (error) {
      this.events.onError?.(error, `recording a page of crawl ${crawl.id}`);
      return 'failed';
    }
  }

  private settle(page: PageSource, outcome: { recorded: boolean; queued: QueuedEntry[]; items: number; links: number }): void {
    const crawl = page.crawl;
    if (crawl.isActive) {
      crawl.frontier.added(outcome.queued);
      crawl.frontier.finish(page.entry);
    }
    if (outcome.recorded) this.events.onPageDone?.(page, outcome.items, outcome.links);
    this.crawls.checkFinished(crawl);
    this.events.onWork?.();
  }

  /**
   * A lease failed (the relay could not fetch the page, or the worker could not
   * process it). Retryable failures go back to the queue with exponential
   * backoff and jitter until maxAttempts; the others are recorded at once.
   */
  fail(record: LeaseRecord, failure: Failure, endedAs: 'failed' | 'expired' = 'failed'): void {
    if (record.committing || !this.leases.get(record.id)) return;
    const crawl = record.crawl;
    this.leases.end(record, endedAs);
    if (!crawl.isActive) return;
    const attempts = record.entry.attempts + 1;
    const policy = retryPolicyFor(crawl.spec, this.retry);
    if (failure.retryable && attempts < policy.maxAttempts) {
      const notBefore = this.clock.now() + retryDelayMs(policy, attempts, failure.retryAfterMs);
      void this.requeue(record, attempts, notBefore, failure);
    } else {
      const message = failure.retryable ? `${failure.message} (gave up after ${attempts} attempts)` : failure.message;
      void this.end(crawl, record.entry, 'failed', { ...failure, message, attempts, at: this.clock.now() }, record);
    }
  }

  /** A lease's URL is not to be fetched at all (e.g. robots.txt disallows it). */
  skip(record: LeaseRecord, code: SkipCode, message: string): void {
    if (record.committing || !this.leases.get(record.id)) return;
    this.leases.end(record, 'failed');
    if (!record.crawl.isActive) return;
    void this.end(record.crawl, record.entry, 'skipped', { code, message, attempts: record.entry.attempts, at: this.clock.now() });
  }

  /** A queued URL the frontier's gate dropped before any lease (robots.txt disallows it): recorded as skipped. */
  skipQueued(crawl: Crawl, entry: FrontierEntry, code: SkipCode, message: string): void {
    void this.end(crawl, entry, 'skipped', { code, message, attempts: entry.attempts, at: this.clock.now() }, undefined, true);
  }

  private async requeue(record: LeaseRecord, attempts: number, notBefore: number, failure: Failure): Promise<void> {
    const crawl = record.crawl;
    const entry = record.entry;
    try {
      const moved = await this.storage.requeue(crawl.id, entry.key, { attempts, notBefore, code: failure.code, message: failure.message });
      if (crawl.isActive) {
        if (moved) crawl.frontier.requeued(entry);
        else crawl.frontier.finish(entry);
      }
      this.events.onPageFailed?.(record, failure.code, false);
    } catch (error) {
      this.events.onError?.(error, `queueing a retry of a page of crawl ${crawl.id}`);
      if (crawl.isActive) crawl.frontier.giveBack(entry);
    }
    this.crawls.checkFinished(crawl);
    this.events.onWork?.();
  }

  private async end(
    crawl: Crawl,
    entry: FrontierEntry,
    state: 'failed' | 'skipped',
    e: EndedRequest,
    record?: LeaseRecord,
    dropped = false,
  ): Promise<void> {
    let changed: boolean;
    try {
      changed = await this.storage.endRequest(crawl.id, entry.key, state, e);
    } catch (error) {
      this.events.onError?.(error, `recording a ${state} page of crawl ${crawl.id}`);
      // Nothing was stored: the URL is still queued there, and comes back from there.
      if (crawl.isActive) {
        if (dropped) {
          crawl.frontier.finishDropped(entry);
          await crawl.frontier.resync();
        } else crawl.frontier.giveBack(entry);
      }
      this.events.onWork?.();
      return;
    }
    if (crawl.isActive) {
      if (dropped) crawl.frontier.finishDropped(entry);
      else crawl.frontier.finish(entry);
    }
    if (changed) crawl.count(state === 'failed' ? { failed: 1 } : { skipped: 1 });
    if (record && state === 'failed') this.events.onPageFailed?.(record, e.code, true);
    this.crawls.checkFinished(crawl);
    this.events.onWork?.();
  }
}
