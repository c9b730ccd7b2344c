// Leases: which worker holds which URL, until when. They live in memory only:
// storage keeps a leased URL queued, so after a crash every lease is simply gone
// and its URL is leased again. A worker's result is accepted only for a live
// lease it holds; a repeated submission of a result already recorded is
// recognised and acknowledged without a second record.
import { randomFillSync } from 'node:crypto';
import type { Lease } from '../../shared/protocol.ts';
import type { FrontierEntry } from '../frontier/frontier.ts';
import type { Crawl, CrawlRegistry } from '../crawl/crawls.ts';

export interface FetchRecord {
  finalUrl: string;
  status: number;
  contentHash: string;
  contentType: string;
  fetchedAt: number;
}

export interface LeaseRecord {
  readonly id: string;
  readonly crawl: Crawl;
  readonly entry: FrontierEntry;
  readonly workerId: string;
  expiresAt: number;
  /** Set by the relay once it has fetched the page for this lease. */
  fetched: FetchRecord | undefined;
  /** Set while the lease's result is being committed: it can no longer expire or be revoked. */
  committing: boolean;
}

export type EndedLease = { workerId: string; crawlId: string; how: 'done' | 'expired' | 'revoked' | 'failed' };

/** Random bytes for lease ids, filled 256 ids at a time (one buffer, not one per lease). */
const idPool = Buffer.alloc(16 * 256);
let idPoolOffset = idPool.length;

/** 128 random bits, base64url: a lease id cannot be guessed. */
function newLeaseId(): string {
  if (idPoolOffset === idPool.length) {
    randomFillSync(idPool);
    idPoolOffset = 0;
  }
  const id = idPool.toString('base64url', idPoolOffset, idPoolOffset + 16);
  idPoolOffset += 16;
  return id;
}

const ENDED_MEMORY = 100_000;
const ENDED_HOWS: readonly EndedLease['how'][] = ['done', 'expired', 'revoked', 'failed'];

/**
 * The last `capacity` ended leases, in a ring: one slot per lease in flat
 * arrays and an index from id to slot, so remembering a lease allocates no
 * object (at thousands of leases a second, an object each would keep the
 * garbage collector's heap several times larger than what is live).
 */
class EndedRing {
  private readonly ids: (string | undefined)[];
  private readonly workers: string[];
  private readonly crawls: string[];
  private readonly hows: Uint8Array;
  private readonly index = new Map<string, number>();
  private next = 0;

  constructor(capacity: number) {
    this.ids = new Array<string | undefined>(capacity).fill(undefined);
    this.workers = new Array<string>(capacity).fill('');
    this.crawls = new Array<string>(capacity).fill('');
    this.hows = new Uint8Array(capacity);
  }

  add(id: string, workerId: string, crawlId: string, how: EndedLease['how']): void {
    const slot = this.next;
    const old = this.ids[slot];
    if (old !== undefined) this.index.delete(old);
    this.ids[slot] = id;
    this.workers[slot] = workerId;
    this.crawls[slot] = crawlId;
    this.hows[slot] = ENDED_HOWS.indexOf(how);
    this.index.set(id, slot);
    this.next = (slot + 1) % this.ids.length;
  }

  get(id: string): EndedLease | undefined {
    const slot = this.index.get(id);
    if (slot === undefined) return undefined;
    return { workerId: this.workers[slot]!, crawlId: this.crawls[slot]!, how: ENDED_HOWS[this.hows[slot]!]! };
  }
}

export class LeaseManager {
  private readonly crawls: CrawlRegistry;
  readonly ttlMs: number;
  private readonly leases = new Map<string, LeaseRecord>();
  private readonly byWorker = new Map<string, Set<LeaseRecord>>();
  /** Recently ended leases, to tell a late or repeated result from an unknown one. */
  private readonly ended = new EndedRing(ENDED_MEMORY);
  private crawlCursor = 0;

  constructor(crawls: CrawlRegistry, ttlMs: number) {
    this.crawls = crawls;
    this.ttlMs = ttlMs;
  }

  get size(): number {
    return this.leases.size;
  }

  get(id: string): LeaseRecord | undefined {
    return this.leases.get(id);
  }

  endedLease(id: string): EndedLease | undefined {
    return this.ended.get(id);
  }

  heldBy(workerId: string): ReadonlySet<LeaseRecord> {
    return this.byWorker.get(workerId) ?? new Set();
  }

  countHeldBy(workerId: string): number {
    return this.byWorker.get(workerId)?.size ?? 0;
  }

  /** Grants up to `max` leases to a worker, taking one at a time from each running crawl in turn. */
  grant(workerId: string, max: number, now: number): Lease[] {
    const out: Lease[] = [];
    const running = this.crawls.running();
    if (running.length === 0 || max <= 0) return out;
    let idle = 0;
    while (out.length < max && idle < running.length) {
      const crawl = running[this.crawlCursor++ % running.length]!;
      const entry = crawl.leaseBudget() > 0 ? crawl.frontier.take(1, now)[0] : undefined;
      if (!entry) {
        idle++;
        continue;
      }
      idle = 0;
      const record: LeaseRecord = {
        id: newLeaseId(),
        crawl,
        entry,
        workerId,
        expiresAt: now + this.ttlMs,
        fetched: undefined,
        committing: false,
      };
      this.leases.set(record.id, record);
      let held = this.byWorker.get(workerId);
      if (!held) this.byWorker.set(workerId, (held = new Set()));
      held.add(record);
      out.push({
        id: record.id,
        crawlId: crawl.id,
        url: entry.url,
        depth: entry.depth,
        specVersion: crawl.specVersion,
        expiresAt: record.expiresAt,
      });
    }
    return out;
  }

  /** Removes a lease from the table (its result was committed, or it failed); the caller updates the frontier. */
  end(record: LeaseRecord, how: EndedLease['how']): void {
    if (!this.leases.delete(record.id)) return;
    this.byWorker.get(record.workerId)?.delete(record);
    this.remember(record, how);
  }

  /** Gives a lease's URL back to the frontier unworked. */
  giveBack(record: LeaseRecord, how: 'expired' | 'revoked'): void {
    if (record.committing || !this.leases.has(record.id)) return;
    this.end(record, how);
    if (record.crawl.isActive) record.crawl.frontier.giveBack(record.entry);
  }

  /** Every lease a worker holds goes back (it disconnected or asked to). Returns how many. */
  releaseWorker(workerId: string): number {
    const held = [...(this.byWorker.get(workerId) ?? [])];
    for (const record of held) this.giveBack(record, 'revoked');
    if (this.byWorker.get(workerId)?.size === 0) this.byWorker.delete(workerId);
    return held.length;
  }

  /** Takes back every lease of a crawl that was paused or ended; returns them by worker, to notify. */
  revokeCrawl(crawlId: string): Map<string, string[]> {
    const byWorker = new Map<string, string[]>();
    for (const record of [...this.leases.values()]) {
      if (record.crawl.id !== crawlId || record.committing) continue;
      this.giveBack(record, 'revoked');
      const ids = byWorker.get(record.workerId) ?? [];
      ids.push(record.id);
      byWorker.set(record.workerId, ids);
    }
    return byWorker;
  }

  /** Leases past their expiry; the caller decides what to do with them. */
  expired(now: number): LeaseRecord[] {
    const out: LeaseRecord[] = [];
    for (const record of this.leases.values()) if (!record.committing && record.expiresAt <= now) out.push(record);
    return out;
  }

  private remember(record: LeaseRecord, how: EndedLease['how']): void {
    this.ended.add(record.id, record.workerId, record.crawl.id, how);
  }

}
