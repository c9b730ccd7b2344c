// A host's queue in a crawl's frontier, and the types the frontier shares with
// the hub's politeness layer: the window of queued entries loaded from storage,
// and the politeness state of the host (its delay, pauses, whether it is held).
import type { QueuedEntry } from '../storage/storage.ts';
import type { MinHeap } from './min-heap.ts';

/** A queued URL as the frontier holds it: storage's row. */
export type FrontierEntry = QueuedEntry;

export interface HostPolicy {
  concurrency: number;
  /** The least time between two leases of a host (the spec's perHostDelayMs). */
  delayMs: number;
}

/**
 * Looks at an entry before it is leased (robots.txt). "lease": go ahead;
 * "hold": the entry goes back to the front and its host is held until
 * release(); a number: the same, but the host is paused until that time;
 * "drop": the entry leaves the queue without a lease, and the gate records why
 * and then calls finishDropped(). Holds and drops use none of the host's delay.
 */
export type GateVerdict = 'lease' | 'hold' | 'drop' | number;

export interface FrontierGate {
  admit(entry: FrontierEntry, host: HostQueue, now: number): GateVerdict;
}

export class HostQueue {
  readonly host: string;
  concurrency: number;
  /** The floor of the delay: the spec's perHostDelayMs, or robots.txt's Crawl-delay when larger. */
  minDelayMs: number;
  /** The delay in force between two leases; AutoThrottle moves it between minDelayMs and its ceiling. */
  delayMs: number;
  /** robots.txt's Crawl-delay once applied (undefined: not looked at yet, null: none). */
  crawlDelayMs: number | null | undefined = undefined;
  /** Recent fetch latency (moving average), for AutoThrottle's stats. */
  latencyMs: number | undefined = undefined;
  /** 429/503 answers and timeouts that made the host back off. */
  backoffs = 0;
  lastStatus: number | undefined = undefined;
  inFlight = 0;
  /** Epoch ms before which no new lease goes to this host. */
  nextAt = 0;
  /** Epoch ms the host is paused until (Retry-After, an unreachable robots.txt); merged into nextAt when it is next scheduled. */
  pausedUntil = 0;
  /** Held back until its robots.txt is known; released by release(). */
  held = false;
  /** Entries loaded from storage, in seq order (retries returned unworked go to the front). */
  buffer: FrontierEntry[] = [];
  head = 0;
  /** Highest seq loaded from storage; later rows are read on the next refill. */
  loadedSeq = 0;
  /** True when storage has no queued row beyond loadedSeq. */
  exhausted = false;
  /** A read of its next rows from storage is under way. */
  loading = false;
  /** Whether the host sits in the ready queue or the waiting heap. */
  scheduled = false;
  /** Entries of this host waiting in the retry heap. */
  delayedCount = 0;
  /** This hub holds the host in the fleet (host-owners.ts); always, on SQLite. Its rows are read only then. */
  owned = false;
  /** Epoch ms of this hub's last lease of the host, or of when it took the host (fleet only): held unused too long, it is given up (host-owners.ts). */
  leasedAt = 0;

  constructor(host: string, policy: HostPolicy) {
    this.host = host;
    this.concurrency = policy.concurrency;
    this.minDelayMs = policy.delayMs;
    this.delayMs = policy.delayMs;
  }

  /** Puts an entry back at the front of the window. */
  unshift(entry: FrontierEntry): void {
    if (this.head > 0) this.buffer[--this.head] = entry;
    else this.buffer.unshift(entry);
  }

  /** The next entry of the window (the caller checks `buffered` first). */
  shift(): FrontierEntry {
    const entry = this.buffer[this.head]!;
    this.buffer[this.head++] = undefined as unknown as FrontierEntry;
    if (this.head === this.buffer.length) {
      this.buffer = [];
      this.head = 0;
    }
    return entry;
  }

  /** The next entry due now; entries due later go to the retry heap on the way. */
  next(now: number, delayed: MinHeap<FrontierEntry>): FrontierEntry | undefined {
    while (this.buffered > 0) {
      const entry = this.shift();
      if (entry.notBefore <= now) return entry;
      delayed.push(entry);
      this.delayedCount++;
    }
    return undefined;
  }

  /** Rows read from storage (up to `size` asked for) join the window, except those already loaded or leased. */
  fill(rows: readonly FrontierEntry[], size: number, now: number, leased: ReadonlySet<string>, delayed: MinHeap<FrontierEntry>): void {
    for (const entry of rows) {
      // Rows that reached memory meanwhile (added() after this read began) are skipped.
      if (entry.seq <= this.loadedSeq) continue;
      this.loadedSeq = entry.seq;
      if (leased.has(entry.key)) continue;
      if (entry.notBefore > now) {
        delayed.push(entry);
        this.delayedCount++;
      } else this.buffer.push(entry);
    }
    if (rows.length < size) this.exhausted = true;
  }

  /** Forgets the window: storage is read again from the start of the host's queue. */
  forgetWindow(): void {
    this.buffer = [];
    this.head = 0;
    this.loadedSeq = 0;
    this.exhausted = false;
    this.scheduled = false;
    this.delayedCount = 0;
  }

  /**
   * A host that had nothing left is to read again from the start of its queue
   * (a fleet's rows came in: sync.ts); only when nothing of its own is in
   * memory, so no row is brought in twice. False when it has work in memory.
   */
  readAgain(): boolean {
    if (!this.exhausted || this.loading || this.buffered > 0 || this.delayedCount > 0) return false;
    this.exhausted = false;
    this.loadedSeq = 0;
    return true;
  }

  /**
   * The host left memory with entries still in its window (given up to the
   * fleet): the window is dropped (storage still has the rows) and nothing
   * more is read, so if it still sits in the ready queue or the waiting heap
   * it is passed over there.
   */
  letGo(): void {
    this.buffer = [];
    this.head = 0;
    this.exhausted = true;
  }

  get buffered(): number {
    return this.buffer.length - this.head;
  }

  mayHaveWork(): boolean {
    return this.buffered > 0 || !this.exhausted;
  }

  /** Nothing of this host is in memory, leased, held or waiting: it can leave the active set. */
  get idle(): boolean {
    return this.inFlight === 0 && this.buffered === 0 && this.exhausted && !this.loading && !this.held && !this.scheduled && this.delayedCount === 0;
  }
}
