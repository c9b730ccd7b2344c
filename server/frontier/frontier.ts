// One crawl's frontier: what is queued, per host, in breadth-first order, and
// which host may be fetched from next. SQLite holds every queued URL; memory
// holds only a small window of each host's queue, so a million queued URLs cost
// disk, not RAM. Leased URLs stay "queued" on disk: leases live in memory, and a
// restarted hub simply finds them queued again.
//
// Politeness is enforced here, centrally, for every worker at once: a host gets
// at most `concurrency` leases in flight and at least `delayMs` between two.
import type { QueuedRow, Store } from '../storage/store.ts';
import { MinHeap } from './min-heap.ts';

export interface FrontierEntry {
  readonly key: string;
  readonly url: string;
  readonly host: string;
  readonly depth: number;
  readonly seq: number;
  attempts: number;
  notBefore: number;
}

export interface HostPolicy {
  concurrency: number;
  delayMs: number;
}

export class HostQueue {
  readonly host: string;
  concurrency: number;
  delayMs: number;
  inFlight = 0;
  /** Epoch ms before which no new lease goes to this host. */
  nextAt = 0;
  /** Entries loaded from storage, in seq order (retries returned unworked go to the front). */
  buffer: FrontierEntry[] = [];
  head = 0;
  /** Highest seq loaded from storage; later rows are read on the next refill. */
  loadedSeq = 0;
  /** True when storage has no queued row beyond loadedSeq. */
  exhausted = false;
  /** Whether the host sits in the ready queue or the waiting heap. */
  scheduled = false;

  constructor(host: string, policy: HostPolicy) {
    this.host = host;
    this.concurrency = policy.concurrency;
    this.delayMs = policy.delayMs;
  }

  get buffered(): number {
    return this.buffer.length - this.head;
  }

  mayHaveWork(): boolean {
    return this.buffered > 0 || !this.exhausted;
  }
}

export class CrawlFrontier {
  readonly crawlId: string;
  private readonly store: Store;
  private readonly policy: HostPolicy;
  readonly hosts = new Map<string, HostQueue>();
  private ready: HostQueue[] = [];
  private readyHead = 0;
  private readonly waiting = new MinHeap<HostQueue>((a, b) => a.nextAt - b.nextAt);
  /** Entries held back until their retry time. */
  private readonly delayed = new MinHeap<FrontierEntry>((a, b) => a.notBefore - b.notBefore);
  /** Queued and not leased (including those waiting to be retried). */
  queued = 0;
  inFlight = 0;
  nextSeq = 1;
  /** Keys leased right now; storage still has them queued, so a reload must skip them. */
  private readonly leasedKeys = new Set<string>();

  constructor(store: Store, crawlId: string, policy: HostPolicy) {
    this.store = store;
    this.crawlId = crawlId;
    this.policy = policy;
  }

  /** Reads the crawl's queue state from storage (at start-up or when a crawl is created). */
  load(queuedCount: number): void {
    this.queued = queuedCount;
    this.nextSeq = this.store.maxSeq(this.crawlId) + 1;
    if (queuedCount > 0) for (const host of this.store.queuedHosts(this.crawlId)) this.schedule(this.hostQueue(host), 0);
  }

  private bufferSize(host: HostQueue): number {
    return Math.min(256, Math.max(16, host.concurrency * 4));
  }

  hostQueue(host: string): HostQueue {
    let queue = this.hosts.get(host);
    if (!queue) {
      queue = new HostQueue(host, this.policy);
      this.hosts.set(host, queue);
    }
    return queue;
  }

  /**
   * Queues a URL unless the crawl has seen its key. Call inside the transaction
   * that records the page the URL was found on. Returns true when it was new.
   */
  add(url: string, key: string, host: string, depth: number): boolean {
    const seq = this.nextSeq;
    if (!this.store.insertRequest(this.crawlId, key, url, host, depth, seq)) return false;
    this.nextSeq++;
    this.queued++;
    const queue = this.hostQueue(host);
    if (queue.exhausted && queue.buffered < this.bufferSize(queue)) {
      // Storage holds nothing beyond what is loaded, so the new row can go straight
      // into memory; this saves a query per page on a serial chain.
      queue.buffer.push({ key, url, host, depth, seq, attempts: 0, notBefore: 0 });
      queue.loadedSeq = seq;
    } else {
      queue.exhausted = false;
    }
    this.schedule(queue, Date.now());
    return true;
  }

  /** Takes up to `max` entries that politeness allows now, round-robin over hosts. */
  take(max: number, now: number): FrontierEntry[] {
    const out: FrontierEntry[] = [];
    if (max <= 0 || this.queued === 0) return out;
    this.promote(now);
    while (out.length < max && this.readyHead < this.ready.length) {
      const host = this.ready[this.readyHead++]!;
      host.scheduled = false;
      if (host.inFlight >= host.concurrency) continue;
      const entry = this.next(host, now);
      if (!entry) continue;
      host.inFlight++;
      this.inFlight++;
      this.queued--;
      this.leasedKeys.add(entry.key);
      if (host.delayMs > 0) host.nextAt = now + host.delayMs;
      out.push(entry);
      this.schedule(host, now);
    }
    if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.readyHead);
      this.readyHead = 0;
    }
    return out;
  }

  /** A lease ended without an attempt being made (worker left, crawl paused): the entry goes back to the front. */
  giveBack(entry: FrontierEntry): void {
    this.leasedKeys.delete(entry.key);
    const host = this.hostQueue(entry.host);
    host.inFlight = Math.max(0, host.inFlight - 1);
    this.inFlight = Math.max(0, this.inFlight - 1);
    this.queued++;
    if (host.head > 0) host.buffer[--host.head] = entry;
    else host.buffer.unshift(entry);
    this.schedule(host, Date.now());
  }

  /** A lease ended with the page recorded as done, failed or skipped. */
  finish(entry: FrontierEntry): void {
    this.leasedKeys.delete(entry.key);
    const host = this.hostQueue(entry.host);
    host.inFlight = Math.max(0, host.inFlight - 1);
    this.inFlight = Math.max(0, this.inFlight - 1);
    this.schedule(host, Date.now());
  }

  /** A failed attempt to retry at `notBefore`: stored with a new seq, so it goes to the back of its host's queue. */
  retryLater(entry: FrontierEntry, notBefore: number, code: string, message: string): void {
    this.leasedKeys.delete(entry.key);
    const seq = this.nextSeq++;
    this.store.requeue(this.crawlId, entry.key, entry.attempts, notBefore, seq, code, message);
    const host = this.hostQueue(entry.host);
    host.inFlight = Math.max(0, host.inFlight - 1);
    this.inFlight = Math.max(0, this.inFlight - 1);
    this.queued++;
    host.exhausted = false;
    this.schedule(host, Date.now());
  }

  /**
   * Rebuilds the in-memory window from storage, e.g. after a transaction that
   * queued links was rolled back. Leased entries stay leased.
   */
  resync(): void {
    const queuedOnDisk = this.store.countByState(this.crawlId)[0] ?? 0;
    this.queued = Math.max(0, queuedOnDisk - this.leasedKeys.size);
    this.nextSeq = this.store.maxSeq(this.crawlId) + 1;
    this.ready = [];
    this.readyHead = 0;
    this.waiting.clear();
    this.delayed.clear();
    for (const host of this.hosts.values()) {
      host.buffer = [];
      host.head = 0;
      host.loadedSeq = 0;
      host.exhausted = false;
      host.scheduled = false;
    }
    for (const host of this.store.queuedHosts(this.crawlId)) this.schedule(this.hostQueue(host), 0);
  }

  /** Drops everything queued from memory (crawl ended); storage keeps it. */
  clear(): void {
    this.hosts.clear();
    this.ready = [];
    this.readyHead = 0;
    this.waiting.clear();
    this.delayed.clear();
  }

  /** The earliest time something now held back by politeness or a retry delay becomes leasable. */
  nextWakeAt(): number | null {
    const host = this.waiting.peek();
    const entry = this.delayed.peek();
    const times = [host?.nextAt, entry?.notBefore].filter((t): t is number => t !== undefined);
    return times.length ? Math.min(...times) : null;
  }

  /** Whether a lease could be taken right now (cheap; used to pick crawls fairly). */
  hasReadyWork(now: number): boolean {
    if (this.queued === 0) return false;
    this.promote(now);
    return this.readyHead < this.ready.length;
  }

  private schedule(host: HostQueue, now: number): void {
    if (host.scheduled || host.inFlight >= host.concurrency || !host.mayHaveWork()) return;
    host.scheduled = true;
    if (host.nextAt > now) this.waiting.push(host);
    else this.ready.push(host);
  }

  private promote(now: number): void {
    for (let host = this.waiting.peek(); host && host.nextAt <= now; host = this.waiting.peek()) {
      this.waiting.pop();
      this.ready.push(host);
    }
    for (let entry = this.delayed.peek(); entry && entry.notBefore <= now; entry = this.delayed.peek()) {
      this.delayed.pop();
      const host = this.hostQueue(entry.host);
      if (host.head > 0) host.buffer[--host.head] = entry;
      else host.buffer.unshift(entry);
      this.schedule(host, now);
    }
  }

  private next(host: HostQueue, now: number): FrontierEntry | undefined {
    for (;;) {
      if (host.buffered === 0) {
        if (host.exhausted) return undefined;
        this.refill(host, now);
        if (host.buffered === 0) return undefined;
      }
      const entry = host.buffer[host.head]!;
      host.buffer[host.head++] = undefined as unknown as FrontierEntry;
      if (host.head === host.buffer.length) {
        host.buffer = [];
        host.head = 0;
      }
      if (entry.notBefore > now) {
        this.delayed.push(entry);
        continue;
      }
      return entry;
    }
  }

  private refill(host: HostQueue, now: number): void {
    const size = this.bufferSize(host);
    const rows: QueuedRow[] = this.store.loadQueued(this.crawlId, host.host, host.loadedSeq, size);
    for (const row of rows) {
      host.loadedSeq = Math.max(host.loadedSeq, row.seq);
      if (this.leasedKeys.has(row.key)) continue;
      const entry: FrontierEntry = {
        key: row.key, url: row.url, host: row.host, depth: row.depth, seq: row.seq, attempts: row.attempts, notBefore: row.not_before,
      };
      if (entry.notBefore > now) this.delayed.push(entry);
      else host.buffer.push(entry);
    }
    if (rows.length < size) host.exhausted = true;
  }
}
