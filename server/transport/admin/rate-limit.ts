// One limit on wrong admin tokens per client address, whatever they were sent
// to: the console's sign-in form, a Bearer token on /api, or `auth.token` on
// the /admin socket. After `maxFailures` wrong tokens within `windowMs` (the
// window starts with the first of them), every token check from that address
// is refused, with the right token too, until the window ends: otherwise the
// Bearer header or the socket would be an unlimited way round the sign-in
// form's limit. A right token does not clear the count (it ends with its window).
//
// rate-limiter-flexible's RateLimiterMemory keeps the counts: in memory on
// purpose (the hub is one process and its sessions live in memory too), each
// entry dropped when its window ends, so a flood of addresses cannot keep it.
import { RateLimiterMemory } from 'rate-limiter-flexible';

export interface AdminTokenLimits {
  /** Wrong tokens an address may send within windowMs. */
  maxFailures: number;
  windowMs: number;
}

export const DEFAULT_ADMIN_TOKEN_LIMITS: AdminTokenLimits = { maxFailures: 10, windowMs: 60_000 };

/**
 * The address a limit is kept for: an IPv4 client seen through a dual-stack
 * socket (::ffff:127.0.0.2) is the same client as 127.0.0.2.
 */
export function clientAddress(raw: string | undefined): string {
  if (raw === undefined || raw === '') return 'unknown';
  return raw.toLowerCase().startsWith('::ffff:') && raw.includes('.') ? raw.slice(7) : raw;
}

export class AdminTokenLimiter {
  readonly maxFailures: number;
  readonly windowMs: number;
  private readonly limiter: RateLimiterMemory;

  constructor(limits: AdminTokenLimits = DEFAULT_ADMIN_TOKEN_LIMITS) {
    this.maxFailures = limits.maxFailures;
    this.windowMs = limits.windowMs;
    this.limiter = new RateLimiterMemory({ keyPrefix: 'admin-token', points: limits.maxFailures, duration: limits.windowMs / 1000 });
  }

  /** Milliseconds until `address` may send a token again; 0 when it may now. */
  async blockedForMs(address: string): Promise<number> {
    const res = await this.limiter.get(clientAddress(address));
    if (!res || res.consumedPoints < this.maxFailures) return 0;
    // A window whose end has passed (its cleanup timer not yet run) blocks nothing.
    return res.msBeforeNext > 0 ? res.msBeforeNext : 0;
  }

  /** Records a wrong token; returns the attempts left before `address` is refused. */
  async fail(address: string): Promise<number> {
    const res = await this.limiter.penalty(clientAddress(address), 1);
    return Math.max(0, this.maxFailures - res.consumedPoints);
  }

  /** The message of a refusal: how long to wait. */
  refusal(waitMs: number): string {
    const seconds = Math.ceil(waitMs / 1000);
    return `too many wrong tokens from this address (sign-in, API or admin socket): try again in ${seconds} second(s)`;
  }
}
