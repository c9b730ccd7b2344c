// One crawl's frontier: what is queued, per host, in breadth-first order, and
// which host may be fetched from next. SQLite holds every queued URL; memory
// holds only a small window of each host's queue, and only a bounded set of
// hosts ("active" hosts): the others wait in storage and are found there by an
// index seek when there is room. So a million queued URLs, even on a million
// hosts, cost disk, not RAM. Leased URLs stay "queued" on disk: leases live in
// memory, and a restarted hub simply finds them queued again.
//
// Politeness is enforced here, centrally, for every worker at once: a host gets
// at most `concurrency` leases in flight and at least `delayMs` between two.
// The hub's politeness layer (server/hub/politeness.ts) moves `delayMs`
// (AutoThrottle, Crawl-delay), pauses hosts (Retry-After, robots.txt errors)
// and holds a host while its robots.txt is being fetched.
import type { Store } from '../storage/store.ts';
import { HostQueue, type FrontierEntry, type FrontierGate, type GateVerdict, type HostPolicy } from './host-queue.ts';
import { MinHeap } from './min-heap.ts';

export { HostQueue } from './host-queue.ts';
export type { FrontierEntry, FrontierGate, GateVerdict, HostPolicy } from './host-queue.ts';

export interface FrontierOptions {
  /** Hosts held in memory at once; more wait in storage. */
  maxActiveHosts?: number;
}

export const DEFAULT_MAX_ACTIVE_HOSTS = 4096;
/**
 * Entries loaded from storage, across all active hosts, the window aims at: a
 * host's share shrinks as hosts are added (down to a few entries; it is read
 * again when empty), so memory stays bounded however the URLs are spread.
 */
const BUFFER_BUDGET = 16_384;
const MAX_REFUSED_PER_TAKE = 1000;

/** What an evicted host must remember so that coming back does not reset its politeness. */
interface Cooldown {
  nextAt: number;
  delayMs: number;
  minDelayMs: number;
  crawlDelayMs: number | null | undefined;
}

export class CrawlFrontier {
  readonly crawlId: string;
  private readonly store: Store;
  private readonly policy: HostPolicy;
  private readonly maxActiveHosts: number;
  /** The active hosts. */
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
  /** Storage may hold queued URLs of hosts that are not active. */
  private dormant = false;
  /** Where the scan for dormant hosts goes on from (hosts in byte order; '' is the start). */
  private hostCursor = '';
  /** The current scan began at the start and has not (yet) met a host that was not active. */
  private cleanPass = false;
  private readonly cooldowns = new Map<string, Cooldown>();
  /** Set by the hub: robots.txt and Crawl-delay (server/hub/politeness.ts). */
  gate: FrontierGate | undefined;

  constructor(store: Store, crawlId: string, policy: HostPolicy, options: FrontierOptions = {}) {
    this.store = store;
    this.crawlId = crawlId;
    this.policy = policy;
    this.maxActiveHosts = options.maxActiveHosts ?? DEFAULT_MAX_ACTIVE_HOSTS;
  }

  /** Reads the crawl's queue state from storage (at start-up or when a crawl is created). */
  load(queuedCount: number): void {
    this.queued = queuedCount;
    this.nextSeq = this.store.maxSeq(this.crawlId) + 1;
    // Hosts are found lazily, by the first take(): a restart reads no host list.
    if (queuedCount > 0) this.markDormant();
  }

  private bufferSize(host: HostQueue): number {
    const own = Math.min(256, Math.max(16, host.concurrency * 4));
    return Math.max(4, Math.min(own, Math.floor(BUFFER_BUDGET / Math.max(1, this.hosts.size))));
  }

  /** The active host, made active if need be (the caller has work for it). */
  hostQueue(host: string): HostQueue {
    return this.hosts.get(host) ?? this.activate(host);
  }

  /** The active host, if it is active. */
  getHost(host: string): HostQueue | undefined {
    return this.hosts.get(host);
  }

  private activate(name: string): HostQueue {
    const queue = new HostQueue(name, this.policy);
    const cooldown = this.cooldowns.get(name);
    if (cooldown) {
      this.cooldowns.delete(name);
      queue.nextAt = cooldown.nextAt;
      queue.delayMs = cooldown.delayMs;
      queue.minDelayMs = cooldown.minDelayMs;
      queue.crawlDelayMs = cooldown.crawlDelayMs;
    }
    this.hosts.set(name, queue);
    return queue;
  }

  private markDormant(): void {
    this.dormant = true;
    // A host was left in storage, possibly behind the scan: the scan under way cannot prove there are none left.
    this.cleanPass = false;
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
    let queue = this.hosts.get(host);
    if (!queue) {
      if (this.hosts.size >= this.maxActiveHosts) {
        this.markDormant();
        return true;
      }
      // Storage may hold more of this host's URLs (it may have been dormant): it is read from there.
      queue = this.activate(host);
    } else if (queue.exhausted && queue.buffered < this.bufferSize(queue)) {
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
    // Entries the gate drops are recorded in a batch after this turn, which asks for a new round: bounded here.
    let refused = 0;
    while (out.length < max && refused < MAX_REFUSED_PER_TAKE) {
      if (this.readyHead >= this.ready.length && !this.wakeDormant(now)) break;
      const host = this.ready[this.readyHead++]!;
      host.scheduled = false;
      if (host.held) continue;
      if (host.pausedUntil > now) {
        // Paused while it sat in the ready queue: it waits again, until the pause is over.
        this.schedule(host, now);
        continue;
      }
      if (host.inFlight >= host.concurrency) continue;
      const entry = this.next(host, now);
      if (!entry) {
        this.maybeEvict(host, now);
        continue;
      }
      const verdict = this.gate ? this.gate.admit(entry, host, now) : 'lease';
      if (verdict !== 'lease') {
        this.refuse(host, entry, verdict, now);
        refused++;
        continue;
      }
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

  private refuse(host: HostQueue, entry: FrontierEntry, verdict: Exclude<GateVerdict, 'lease'>, now: number): void {
    if (verdict === 'drop') {
      // Counted in flight until the gate has recorded it, so the crawl cannot end before.
      this.queued--;
      this.inFlight++;
      this.leasedKeys.add(entry.key);
    } else {
      if (host.head > 0) host.buffer[--host.head] = entry;
      else host.buffer.unshift(entry);
      if (verdict === 'hold') host.held = true;
      else host.pausedUntil = Math.max(host.pausedUntil, verdict);
    }
    this.schedule(host, now);
  }

  /** An entry the gate dropped has been recorded (as skipped). */
  finishDropped(entry: FrontierEntry): void {
    this.leasedKeys.delete(entry.key);
    this.inFlight = Math.max(0, this.inFlight - 1);
    const host = this.hosts.get(entry.host);
    if (host) this.maybeEvict(host, Date.now());
  }

  /** A lease ended without an attempt being made (worker left, crawl paused): the entry goes back to the front. */
  giveBack(entry: FrontierEntry): void {
    const host = this.untake(entry);
    this.schedule(host, Date.now());
  }

  /** Lets a held host be leased from again. */
  release(hostName: string): void {
    const host = this.hosts.get(hostName);
    if (!host || !host.held) return;
    host.held = false;
    this.schedule(host, Date.now());
  }

  /** No lease goes to this host before `until` (Retry-After, a Crawl-delay just learnt). */
  pause(hostName: string, until: number): void {
    const host = this.hosts.get(hostName);
    if (host) host.pausedUntil = Math.max(host.pausedUntil, until);
  }

  private untake(entry: FrontierEntry): HostQueue {
    this.leasedKeys.delete(entry.key);
    const host = this.hostQueue(entry.host);
    host.inFlight = Math.max(0, host.inFlight - 1);
    this.inFlight = Math.max(0, this.inFlight - 1);
    this.queued++;
    if (host.head > 0) host.buffer[--host.head] = entry;
    else host.buffer.unshift(entry);
    return host;
  }

  /** A lease ended with the page recorded as done, failed or skipped. */
  finish(entry: FrontierEntry): void {
    this.leasedKeys.delete(entry.key);
    const host = this.hostQueue(entry.host);
    host.inFlight = Math.max(0, host.inFlight - 1);
    this.inFlight = Math.max(0, this.inFlight - 1);
    const now = Date.now();
    this.schedule(host, now);
    this.maybeEvict(host, now);
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
      host.delayedCount = 0;
    }
    const now = Date.now();
    for (const host of this.hosts.values()) this.schedule(host, now);
    this.hostCursor = '';
    if (this.queued > 0) this.markDormant();
  }

  /** Drops everything queued from memory (crawl ended); storage keeps it. */
  clear(): void {
    this.hosts.clear();
    this.ready = [];
    this.readyHead = 0;
    this.waiting.clear();
    this.delayed.clear();
    this.cooldowns.clear();
    this.dormant = false;
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
    return this.readyHead < this.ready.length || (this.dormant && this.hosts.size < this.maxActiveHosts);
  }

  /** How many hosts are in memory, and whether more wait in storage (for stats and tests). */
  get activeHosts(): { count: number; dormant: boolean } {
    return { count: this.hosts.size, dormant: this.dormant };
  }

  private schedule(host: HostQueue, now: number): void {
    if (host.scheduled || host.held || host.inFlight >= host.concurrency || !host.mayHaveWork()) return;
    host.scheduled = true;
    // Only a host outside the heaps may have its nextAt moved: here it is outside.
    if (host.pausedUntil > host.nextAt) host.nextAt = host.pausedUntil;
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
      host.delayedCount = Math.max(0, host.delayedCount - 1);
      if (host.head > 0) host.buffer[--host.head] = entry;
      else host.buffer.unshift(entry);
      this.schedule(host, now);
    }
  }

  /**
   * Brings hosts that wait in storage into memory, while there is room. Returns
   * true when one of them can be leased from now.
   */
  private wakeDormant(now: number): boolean {
    if (!this.dormant) return false;
    const readyBefore = this.ready.length;
    let room = Math.min(256, this.maxActiveHosts - this.hosts.size);
    // Every seek moves the cursor on; a pass over all hosts ends the loop at the latest.
    let seeks = 0;
    const maxSeeks = this.hosts.size + room + 2;
    while (room > 0 && seeks++ < maxSeeks) {
      const name = this.store.nextQueuedHost(this.crawlId, this.hostCursor);
      if (name === undefined) {
        if (this.cleanPass) {
          // A whole pass met only active hosts: nothing waits in storage.
          this.dormant = false;
          break;
        }
        this.hostCursor = '';
        this.cleanPass = true;
        continue;
      }
      this.hostCursor = name;
      if (this.hosts.has(name)) continue;
      this.cleanPass = false;
      const host = this.activate(name);
      this.schedule(host, now);
      room--;
    }
    return this.ready.length > readyBefore && this.readyHead < this.ready.length;
  }

  /** Lets a host that has nothing left leave memory, when memory is wanted for others. */
  private maybeEvict(host: HostQueue, now: number): void {
    if (!this.dormant && this.hosts.size <= this.maxActiveHosts) return;
    if (!host.idle || this.hosts.get(host.host) !== host) return;
    this.hosts.delete(host.host);
    const nextAt = Math.max(host.nextAt, host.pausedUntil);
    if (nextAt > now || host.delayMs !== this.policy.delayMs || host.crawlDelayMs !== undefined) {
      this.cooldowns.set(host.host, { nextAt, delayMs: host.delayMs, minDelayMs: host.minDelayMs, crawlDelayMs: host.crawlDelayMs });
      if (this.cooldowns.size > this.maxActiveHosts * 4) this.pruneCooldowns(now);
    }
  }

  /** Forgets evicted hosts whose pause is over, oldest first, to keep the map bounded. */
  private pruneCooldowns(now: number): void {
    for (const [name, cooldown] of this.cooldowns) {
      if (this.cooldowns.size <= this.maxActiveHosts * 2) break;
      if (cooldown.nextAt <= now) this.cooldowns.delete(name);
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
        host.delayedCount++;
        continue;
      }
      return entry;
    }
  }

  private refill(host: HostQueue, now: number): void {
    const size = this.bufferSize(host);
    const rows = this.store.loadQueued(this.crawlId, host.host, host.loadedSeq, size);
    for (const entry of rows) {
      host.loadedSeq = Math.max(host.loadedSeq, entry.seq);
      if (this.leasedKeys.has(entry.key)) continue;
      if (entry.notBefore > now) {
        this.delayed.push(entry);
        host.delayedCount++;
      } else host.buffer.push(entry);
    }
    if (rows.length < size) host.exhausted = true;
  }
}
