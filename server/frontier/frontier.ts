// One crawl's frontier: what is queued, per host, in breadth-first order, and
// which host may be fetched from next. Storage holds every queued URL; memory
// holds only a small window of each host's queue, and only a bounded set of
// hosts ("active" hosts): the others wait in storage (dormant-hosts.ts). So a
// million queued URLs, even on a million hosts, cost disk, not RAM. Leased URLs
// stay "queued" on disk: a restarted hub simply finds them queued again.
// The frontier never writes: storage queues URLs (and gives each its place),
// then the frontier is told what was queued (added()). Reads are asynchronous:
// a host whose window is empty is refilled in the background and scheduled
// when its rows arrive (onWork).
//
// Politeness is enforced here, centrally, for every worker at once: a host gets
// at most `concurrency` leases in flight and at least `delayMs` between two.
// The politeness gate (server/politeness/gate.ts) moves `delayMs`
// (AutoThrottle, Crawl-delay), pauses hosts (Retry-After, robots.txt errors)
// and holds a host while its robots.txt is being fetched.
import type { QueuedEntry, Storage } from '../storage/storage.ts';
import { systemClock, type Clock } from '../clock.ts';
import { HostQueue, type FrontierEntry, type FrontierGate, type GateVerdict, type HostPolicy } from './host-queue.ts';
import { MinHeap } from './min-heap.ts';
import { Cooldowns } from './cooldowns.ts';
import { DormantHosts } from './dormant-hosts.ts';
import { HostOwners } from './host-owners.ts';

export { HostQueue } from './host-queue.ts';
export type { FrontierEntry, FrontierGate, GateVerdict, HostPolicy } from './host-queue.ts';

export interface FrontierOptions {
  /** Hosts held in memory at once; more wait in storage. */
  maxActiveHosts?: number;
  clock?: Clock;
  /** Rows arrived from storage: entries may be leasable now. */
  onWork?: () => void;
  /** A background read from storage failed (it is tried again on the next take). */
  onError?: (error: unknown) => void;
}

export const DEFAULT_MAX_ACTIVE_HOSTS = 4096;
/**
 * Entries loaded from storage, across all active hosts, the window aims at: a
 * host's share shrinks as hosts are added (down to a few entries; it is read
 * again when empty), so memory stays bounded however the URLs are spread.
 */
const BUFFER_BUDGET = 16_384;
const MAX_REFUSED_PER_TAKE = 1000;

export class CrawlFrontier {
  readonly crawlId: string;
  private readonly storage: Storage;
  readonly policy: HostPolicy;
  private readonly clock: Clock;
  private readonly onWork: () => void;
  private readonly onError: (error: unknown) => void;
  /** Storage is shared by a fleet (crawl/sync.ts): every row leased is read (claimed) from storage first. */
  shared = false;
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
  /** Keys leased right now; storage still has them queued, so a reload must skip them. */
  readonly leasedKeys = new Set<string>();
  private readonly dormant: DormantHosts;
  private readonly cooldowns: Cooldowns;
  private readonly owners: HostOwners; // which hosts this hub holds in a fleet (host-owners.ts)
  /** Set by the engine: robots.txt and Crawl-delay (server/politeness/gate.ts). */
  gate: FrontierGate | undefined;
  private closed = false;
  /** Bumped by resync(): reads begun before it are ignored when they arrive. */
  private generation = 0;

  constructor(storage: Storage, crawlId: string, policy: HostPolicy, options: FrontierOptions = {}) {
    this.storage = storage;
    this.crawlId = crawlId;
    this.policy = policy;
    this.maxActiveHosts = options.maxActiveHosts ?? DEFAULT_MAX_ACTIVE_HOSTS;
    this.cooldowns = new Cooldowns(this.maxActiveHosts * 2, policy.delayMs);
    this.dormant = new DormantHosts(storage, crawlId, () => this.hosts.size);
    this.clock = options.clock ?? systemClock;
    this.onWork = options.onWork ?? (() => {});
    this.onError = options.onError ?? (() => {});
    this.owners = new HostOwners(storage, crawlId, this.clock, this.onError);
  }

  /** Takes the count of URLs storage holds queued (at start-up); hosts are found lazily, by the first take(). */
  load(queuedCount: number): void {
    this.queued = queuedCount;
    if (queuedCount > 0) this.dormant.mark();
  }

  private bufferSize(host: HostQueue): number {
    const own = Math.min(256, Math.max(16, host.concurrency * 4));
    return Math.max(4, Math.min(own, Math.floor(BUFFER_BUDGET / Math.max(1, this.hosts.size))));
  }

  /** The active host, made active if need be (the caller has work for it). */
  private hostQueue(host: string): HostQueue { return this.hosts.get(host) ?? this.activate(host); }

  getHost(host: string): HostQueue | undefined { return this.hosts.get(host); }

  private activate(name: string): HostQueue {
    const queue = new HostQueue(name, this.policy);
    this.cooldowns.restore(queue);
    this.owners.activated(queue);
    this.hosts.set(name, queue);
    return queue;
  }

  /** Storage queued these entries (new URLs found on a page, in a sitemap, or a crawl's start URLs). */
  added(entries: readonly QueuedEntry[]): void {
    const now = this.clock.now();
    for (const entry of entries) this.addOne(entry, now);
  }

  private addOne(entry: QueuedEntry, now: number): void {
    this.queued++;
    let queue = this.hosts.get(entry.host);
    if (!queue) {
      if (this.hosts.size >= this.maxActiveHosts) {
        this.dormant.mark();
        return;
      }
      // Storage may hold more of this host's URLs (it may have been dormant): it is read from there.
      queue = this.activate(entry.host);
    } else if (!this.shared && queue.exhausted && !queue.loading && queue.buffered < this.bufferSize(queue) && entry.seq > queue.loadedSeq) {
      // Storage holds nothing beyond what is loaded, so the new row can go straight
      // into memory; this saves a read per page on a serial chain.
      queue.buffer.push({ ...entry });
      queue.loadedSeq = entry.seq;
    } else {
      queue.exhausted = false;
    }
    this.schedule(queue, now);
  }

  /** Takes up to `max` entries that politeness allows now, round-robin over hosts. */
  take(max: number, now: number): FrontierEntry[] {
    const out: FrontierEntry[] = [];
    if (max <= 0 || this.queued === 0) return out;
    this.promote(now);
    // Entries the gate drops are recorded in a batch after this turn, which asks for a new round: bounded here.
    let refused = 0;
    // Hosts whose window is being read from storage: no more reads are started than entries are wanted.
    let loading = 0;
    while (out.length < max && refused < MAX_REFUSED_PER_TAKE) {
      if (this.readyHead >= this.ready.length && !this.wakeDormant()) break;
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
        if (host.loading && out.length + ++loading >= max) break;
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
      host.leasedAt = now;
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
      host.unshift(entry);
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
    if (host) this.maybeEvict(host, this.clock.now());
  }

  /** A lease ended without an attempt being made (worker left, crawl paused): the entry goes back to the front. */
  giveBack(entry: FrontierEntry): void {
    const host = this.untake(entry);
    this.schedule(host, this.clock.now());
  }

  /** Lets a held host be leased from again. */
  release(hostName: string): void {
    const host = this.hosts.get(hostName);
    if (!host || !host.held) return;
    host.held = false;
    this.schedule(host, this.clock.now());
  }

  /** No lease goes to this host before `until` (Retry-After, a Crawl-delay just learnt). */
  pause(hostName: string, until: number): void {
    const host = this.hosts.get(hostName);
    if (host) host.pausedUntil = Math.max(host.pausedUntil, until);
  }

  /** A taken entry is back from its lease (whatever the outcome): it no longer counts in flight. */
  private landed(entry: FrontierEntry): HostQueue {
    this.leasedKeys.delete(entry.key);
    const host = this.hostQueue(entry.host);
    host.inFlight = Math.max(0, host.inFlight - 1);
    this.inFlight = Math.max(0, this.inFlight - 1);
    return host;
  }

  private untake(entry: FrontierEntry): HostQueue {
    const host = this.landed(entry);
    this.queued++;
    host.unshift(entry);
    return host;
  }

  /** A lease ended with the page recorded as done, failed or skipped. */
  finish(entry: FrontierEntry): void {
    const host = this.landed(entry);
    const now = this.clock.now();
    this.schedule(host, now);
    this.maybeEvict(host, now);
  }

  /** Storage put a failed entry back at the end of its host's queue (a new seq, not before its retry time): read again in its turn. */
  requeued(entry: FrontierEntry): void {
    const host = this.landed(entry);
    this.queued++;
    host.exhausted = false;
    this.schedule(host, this.clock.now());
  }

  /** Rebuilds the in-memory window from storage, e.g. after a write that queued links failed. Leased entries stay leased. */
  async resync(): Promise<void> {
    this.generation++;
    const queuedOnDisk = await this.storage.countQueued(this.crawlId);
    this.queued = Math.max(0, queuedOnDisk - this.leasedKeys.size);
    this.ready = [];
    this.readyHead = 0;
    this.waiting.clear();
    this.delayed.clear();
    this.owners.forget(this.hosts.values());
    for (const host of this.hosts.values()) host.forgetWindow();
    const now = this.clock.now();
    for (const host of this.hosts.values()) this.schedule(host, now);
    this.dormant.reset(this.queued > 0);
    this.onWork();
  }

  /** A fleet's tick (crawl/sync.ts): storage's queued count; rows other hubs queued or gave back are looked for. */
  refresh(queuedInStorage: number): void {
    if (this.closed) return;
    this.queued = Math.max(0, queuedInStorage - this.leasedKeys.size);
    if (this.queued === 0) return;
    // Held hosts not leased from for a while go back to the fleet (host-owners.ts); the dormant scan finds them again.
    this.owners.giveUpUnused(this.hosts, this.clock.now(), this.cooldowns);
    for (const host of this.hosts.values()) if (host.readAgain()) this.schedule(host, this.clock.now());
    this.dormant.mark();
    this.onWork();
  }

  /** Drops everything queued from memory (crawl ended); storage keeps it. */
  clear(): void {
    this.closed = true;
    for (const host of this.hosts.values()) this.owners.release(host);
    this.hosts.clear();
    this.ready = [];
    this.readyHead = 0;
    this.waiting.clear();
    this.delayed.clear();
    this.cooldowns.clear();
    this.dormant.reset(false);
  }

  /** The earliest time something now held back by politeness or a retry delay becomes leasable. */
  nextWakeAt(): number | null {
    const host = this.waiting.peek();
    const entry = this.delayed.peek();
    const times = [host?.nextAt, entry?.notBefore].filter((t): t is number => t !== undefined);
    return times.length ? Math.min(...times) : null;
  }

  /** How many hosts are in memory, and whether more wait in storage (for stats and tests). */
  get activeHosts(): { count: number; dormant: boolean } { return { count: this.hosts.size, dormant: this.dormant.pending }; }

  /** Queues a host that may have work: ready now, or waiting for its time. `front`: it had its turn and gets it back. */
  private schedule(host: HostQueue, now: number, front = false): void {
    if (host.scheduled || host.held || host.inFlight >= host.concurrency || !host.mayHaveWork()) return;
    host.scheduled = true;
    // Only a host outside the heaps may have its nextAt moved: here it is outside.
    if (host.pausedUntil > host.nextAt) host.nextAt = host.pausedUntil;
    if (host.nextAt > now) this.waiting.push(host);
    else if (!front) this.ready.push(host);
    else if (this.readyHead > 0) this.ready[--this.readyHead] = host;
    else this.ready.unshift(host);
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
      host.unshift(entry);
      this.schedule(host, now);
    }
  }

  /**
   * Brings hosts that wait in storage into memory, while there is room, in the
   * background; found hosts are scheduled and the engine told. Returns false:
   * nothing is leasable from them in this take.
   */
  private wakeDormant(): boolean {
    const room = Math.min(256, this.maxActiveHosts - this.hosts.size);
    const scan = this.dormant.scan(
      room,
      (name) => this.hosts.has(name),
      (name) => this.schedule(this.activate(name), this.clock.now()),
      () => this.closed,
    );
    scan?.then((found) => void (found > 0 && this.onWork()), (error: unknown) => this.onError(error));
    return false;
  }

  /** Lets a host that has nothing left leave memory, when memory is wanted for others (in a fleet, always: another hub may have its next rows). */
  private maybeEvict(host: HostQueue, now: number): void {
    if (!this.dormant.pending && this.hosts.size <= this.maxActiveHosts && !this.owners.shared) return;
    if (!host.idle || this.hosts.get(host.host) !== host) return;
    this.hosts.delete(host.host);
    this.cooldowns.remember(host, now);
    this.owners.release(host);
  }

  private next(host: HostQueue, now: number): FrontierEntry | undefined {
    const entry = host.next(now, this.delayed);
    if (!entry && host.buffered === 0 && !host.exhausted) this.refill(host);
    return entry;
  }

  /** Reads the host's next rows from storage in the background; the host is scheduled again when they arrive. */
  private refill(host: HostQueue): void {
    if (host.loading) return;
    // Read only once this hub holds the host (host-owners.ts); held by another hub, it waits, paused, and asks again.
    if (!host.owned) return this.owners.hold(host, () => !this.closed && this.hosts.get(host.host) === host, () => this.refill(host), () => this.schedule(host, this.clock.now()), this.onWork);
    host.loading = true;
    const size = this.bufferSize(host);
    const generation = this.generation;
    this.storage.loadQueued(this.crawlId, host.host, host.loadedSeq, size).then(
      (rows) => {
        host.loading = false;
        if (this.closed || generation !== this.generation || this.hosts.get(host.host) !== host) return;
        const now = this.clock.now();
        host.fill(rows, size, now, this.leasedKeys, this.delayed);
        // Its turn came while its window was empty: it gets the turn back, ahead of hosts still unread.
        this.schedule(host, now, true);
        if (host.buffered > 0 || host.delayedCount > 0) this.onWork();
        else this.maybeEvict(host, now);
      },
      (error: unknown) => {
        host.loading = false;
        this.onError(error);
      },
    );
  }
}
