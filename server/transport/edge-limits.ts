// Limits at the transport edge, before any handler looks at what a worker
// sent: how many events a socket and an address may send per window (shared
// by the socket events and the result upload), how many worker connections an
// address may hold, and which web pages may open one (the Origin header).
// The counts are kept by rate-limiter-flexible's in-memory limiters: the hub is
// one process, and a restart only resets them.
import type { IncomingHttpHeaders } from 'node:http';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { originMatchesHost } from './admin/session.ts';

export interface RateLimitOptions {
  windowMs: number;
  eventsPerSocket: number;
  eventsPerAddress: number;
  refusalsBeforeDisconnect: number;
}

/** What to do with one event: handle it, refuse it, or refuse it and drop the sender. */
export type Verdict = 'ok' | 'refused' | 'disconnect';

export class EventLimiter {
  readonly options: RateLimitOptions;
  private readonly perSocket: RateLimiterMemory;
  private readonly perAddress: RateLimiterMemory;
  /** Refused events per socket: past refusalsBeforeDisconnect in a window, it keeps going on purpose. */
  private readonly refusals: RateLimiterMemory;

  constructor(options: RateLimitOptions) {
    this.options = options;
    const duration = options.windowMs / 1000;
    this.perSocket = new RateLimiterMemory({ keyPrefix: 'socket', points: options.eventsPerSocket, duration });
    this.perAddress = new RateLimiterMemory({ keyPrefix: 'address', points: options.eventsPerAddress, duration });
    this.refusals = new RateLimiterMemory({ keyPrefix: 'refused', points: Math.max(1, options.refusalsBeforeDisconnect), duration });
  }

  /**
   * Counts `points` events of `key` (a worker session) from `address`: a
   * batch of results counts one per result, so batching gets around nothing.
   */
  async take(key: string, address: string, points = 1): Promise<Verdict> {
    if ((await consumed(this.perSocket, key, points)) && (await consumed(this.perAddress, address, points))) return 'ok';
    return (await consumed(this.refusals, key)) ? 'refused' : 'disconnect';
  }

  describe(): string {
    const { eventsPerSocket, eventsPerAddress, windowMs } = this.options;
    return `at most ${eventsPerSocket} events per connection and ${eventsPerAddress} per address every ${windowMs} ms`;
  }
}

/** True when `limiter` had `points` left for `key` (they are used). */
async function consumed(limiter: RateLimiterMemory, key: string, points = 1): Promise<boolean> {
  try {
    await limiter.consume(key, points);
    return true;
  } catch (error) {
    if (error instanceof RateLimiterRes) return false;
    throw error;
  }
}

/** Worker connections per address: a slot is taken at the handshake and given back when the connection goes. */
export class AddressSlots {
  private readonly max: number;
  private readonly used = new Map<string, number>();

  constructor(max: number) {
    this.max = max;
  }

  count(address: string): number {
    return this.used.get(address) ?? 0;
  }

  /** Takes a slot for `address`; returns how to give it back (safe to call twice), or undefined when none is free. */
  take(address: string): (() => void) | undefined {
    const used = this.count(address);
    if (used >= this.max) return undefined;
    this.used.set(address, used + 1);
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const left = this.count(address) - 1;
      if (left <= 0) this.used.delete(address);
      else this.used.set(address, left);
    };
  }
}

/**
 * Browsers send an Origin with every socket.io connection; a page of another
 * site must not enlist its visitors as workers. Connections without one (Node
 * and edge workers) are let through: they are not a visitor's browser.
 */
export function originAllowed(headers: IncomingHttpHeaders, allowed: ReadonlySet<string>): boolean {
  const origin = headers.origin;
  if (origin === undefined) return true;
  if (originMatchesHost(origin, headers.host)) return true;
  try {
    return allowed.has(new URL(origin).origin);
  } catch {
    return false;
  }
}
