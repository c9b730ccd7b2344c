// Limits failed sign-in attempts per client address: after `maxFailures` wrong
// tokens within `windowMs`, that address may not try again until the window
// that began with its first failure ends. A correct token clears the count.
//
// In memory on purpose: the hub is one process, its console sessions live in
// memory too, and a restart (which an attacker cannot cause from outside) only
// resets the count. The map is bounded, so a flood of addresses cannot grow it
// without limit; when full, the oldest entry gives way.

export interface FailureLimiterOptions {
  maxFailures: number;
  windowMs: number;
  /** Addresses tracked at once. */
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  failures: number;
  windowStartAt: number;
}

export class FailureLimiter {
  readonly maxFailures: number;
  readonly windowMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly entries = new Map<string, Entry>();

  constructor(options: FailureLimiterOptions) {
    this.maxFailures = options.maxFailures;
    this.windowMs = options.windowMs;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  private current(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && this.now() - entry.windowStartAt >= this.windowMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Milliseconds until `key` may try again; 0 when it may try now. */
  blockedForMs(key: string): number {
    const entry = this.current(key);
    if (!entry || entry.failures < this.maxFailures) return 0;
    return Math.max(1, entry.windowStartAt + this.windowMs - this.now());
  }

  /** Records a failure; returns the attempts left before `key` is blocked. */
  fail(key: string): number {
    let entry = this.current(key);
    if (!entry) {
      if (this.entries.size >= this.maxEntries) {
        const oldest = this.entries.keys().next().value;
        if (oldest !== undefined) this.entries.delete(oldest);
      }
      entry = { failures: 0, windowStartAt: this.now() };
      this.entries.set(key, entry);
    }
    entry.failures++;
    return Math.max(0, this.maxFailures - entry.failures);
  }

  reset(key: string): void {
    this.entries.delete(key);
  }
}
