// What a host that left memory must remember so that coming back does not
// reset its politeness: when it may be fetched next, and its delays. Bounded:
// hosts whose pause is over are forgotten first.
import type { HostQueue } from './host-queue.ts';

interface Cooldown {
  nextAt: number;
  delayMs: number;
  minDelayMs: number;
  crawlDelayMs: number | null | undefined;
}

export class Cooldowns {
  private readonly entries = new Map<string, Cooldown>();
  private readonly limit: number;
  private readonly defaultDelayMs: number;

  /** Keeps about `limit` hosts; a host whose delay is the default and that may be fetched now needs no entry. */
  constructor(limit: number, defaultDelayMs: number) {
    this.limit = limit;
    this.defaultDelayMs = defaultDelayMs;
  }

  /** A host leaves memory. */
  remember(host: HostQueue, now: number): void {
    const nextAt = Math.max(host.nextAt, host.pausedUntil);
    if (nextAt <= now && host.delayMs === this.defaultDelayMs && host.crawlDelayMs === undefined) return;
    this.entries.set(host.host, { nextAt, delayMs: host.delayMs, minDelayMs: host.minDelayMs, crawlDelayMs: host.crawlDelayMs });
    if (this.entries.size > this.limit * 2) this.prune(now);
  }

  /** A host comes back into memory: it takes up where it left off. */
  restore(queue: HostQueue): void {
    const cooldown = this.entries.get(queue.host);
    if (!cooldown) return;
    this.entries.delete(queue.host);
    queue.nextAt = cooldown.nextAt;
    queue.delayMs = cooldown.delayMs;
    queue.minDelayMs = cooldown.minDelayMs;
    queue.crawlDelayMs = cooldown.crawlDelayMs;
  }

  clear(): void {
    this.entries.clear();
  }

  /** Forgets hosts whose pause is over, oldest first. */
  private prune(now: number): void {
    for (const [name, cooldown] of this.entries) {
      if (this.entries.size <= this.limit) break;
      if (cooldown.nextAt <= now) this.entries.delete(name);
    }
  }
}
