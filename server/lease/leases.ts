// Leases: which worker holds which URL, until when. They live in memory only:
// storage keeps a leased URL queued, so after a crash every lease is simply gone
// and its URL is leased again. A worker's result is accepted only for a live
// lease it holds; a repeated submission of a result already recorded is
// recognised and acknowledged without a second record.
import { randomFillSync } from 'node:crypto';
import type { Lease } from '../../shared/protocol.ts';
import type { FrontierEntry } from '../frontier/frontier.ts';
import type { Crawl } from '../crawl/crawl.ts';

export interface FetchRecord {
  finalUrl: string;
  status: number;
  contentHash: string;
  contentType: string;
  fetchedAt: number;
}

/** A page as the relay served it: what the worker parsed, byte for byte, kept for second opinions. */
export interface ServedPage {
  readonly fetched: FetchRecord;
  /** The body as sent to the worker: UTF-8. */
  readonly payload: Buffer;
  /** The charset the page came in (sent in a header). */
  readonly charset: string;
}

/** A lease for a second opinion on a page already fetched (server/validate/): the relay serves this body. */
export interface CheckRef {
  readonly served: ServedPage;
  /** The spec version the page's first lease was granted under: every opinion on it uses that version. */
  readonly specVersion: number;
}

export interface LeaseRecord {
  readonly id: string;
  readonly crawl: Crawl;
  readonly entry: FrontierEntry;
  /** The spec version the lease was granted under: its result is extracted and checked with it. */
  readonly specVersion: number;
  readonly workerId: string;
  /** The worker's address: leases are capped per address. */
  readonly address: string;
  expiresAt: number;
  /** Set by the relay once it has fetched the page for this lease. */
  fetched: FetchRecord | undefined;
  /** The relay's one fetch of this lease's page: every request for the lease shares it. */
  relay: Promise<ServedPage> | undefined;
  /** The page as served, until the lease ends (what the result is checked against). */
  served: ServedPage | undefined;
  /** Set when the lease asks for a second opinion on a served page: no fetch, and its result is compared, not recorded. */
  readonly check: CheckRef | undefined;
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
  readonly ttlMs: number;
  private readonly leases = new Map<string, LeaseRecord>();
  private readonly byWorker = new Map<string, Set<LeaseRecord>>();
  private readonly byAddress = new Map<string, number>();
  /** Recently ended leases, to tell a late or repeated result from an unknown one. */
  private readonly ended = new EndedRing(ENDED_MEMORY);

  constructor(ttlMs: number) {
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

  /** Leases held by all the workers of one address. */
  countByAddress(address: string): number {
    return this.byAddress.get(address) ?? 0;
  }

  /** Leases per address (those holding some), for the fleet's per-address caps. */
  addressCounts(): Record<string, number> {
    return Object.fromEntries(this.byAddress);
  }

  /** Leases a frontier entry of a crawl to a worker until now + ttlMs. */
  open(worker: { id: string; address: string }, crawl: Crawl, entry: FrontierEntry, now: number, check?: CheckRef): Lease {
    const workerId = worker.id;
    const record: LeaseRecord = {
      id: newLeaseId(),
      crawl,
      entry,
      specVersion: check?.specVersion ?? crawl.specVersion,
      workerId,
      address: worker.address,
      expiresAt: now + this.ttlMs,
      fetched: undefined,
      relay: undefined,
      served: check?.served,
      check,
      committing: false,
    };
    this.leases.set(record.id, record);
    let held = this.byWorker.get(workerId);
    if (!held) this.byWorker.set(workerId, (held = new Set()));
    held.add(record);
    this.byAddress.set(worker.address, (this.byAddress.get(worker.address) ?? 0) + 1);
    return {
      id: record.id,
      crawlId: crawl.id,
      url: entry.url,
      depth: entry.depth,
      specVersion: record.specVersion,
      expiresAt: record.expiresAt,
    };
  }

  /** Removes a lease from the table (its result was committed, or it failed); the caller updates the frontier. */
  end(record: LeaseRecord, how: EndedLease['how']): void {
    if (!this.leases.delete(record.id)) return;
    this.byWorker.get(record.workerId)?.delete(record);
    const n = (this.byAddress.get(record.address) ?? 1) - 1;
    if (n <= 0) this.byAddress.delete(record.address);
    else this.byAddress.set(record.address, n);
    this.remember(record, how);
  }

  /** The leases of one crawl not being committed (to take back when it is paused or ends). */
  ofCrawl(crawlId: string): LeaseRecord[] {
    const out: LeaseRecord[] = [];
    for (const record of this.leases.values()) if (record.crawl.id === crawlId && !record.committing) out.push(record);
    return out;
  }

  /** Leases past their expiry; the caller decides what to do with them. */
  expired(now: number): LeaseRecord[] {
    const out: LeaseRecord[] = [];
    for (const record of this.leases.values()) if (!record.committing && record.expiresAt <= now) out.push(record);
    return out;
  }

  /** Every lease's expiry moves `byMs` later (storage was away that long: no worker could have its result taken). */
  extendAll(byMs: number): void {
    for (const record of this.leases.values()) record.expiresAt += byMs;
  }

  private remember(record: LeaseRecord, how: EndedLease['how']): void {
    this.ended.add(record.id, record.workerId, record.crawl.id, how);
  }

}
