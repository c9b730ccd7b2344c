// When a failed page (or sitemap) is tried again: the crawl's retry settings,
// with the hub's defaults for what its spec leaves out.
import type { Spec } from '../../shared/spec/schema.ts';

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export function retryPolicyFor(spec: Spec, defaults: RetryPolicy): RetryPolicy {
  const own = spec.retry;
  return {
    maxAttempts: own?.maxAttempts ?? defaults.maxAttempts,
    baseDelayMs: own?.baseDelayMs ?? defaults.baseDelayMs,
    maxDelayMs: own?.maxDelayMs ?? defaults.maxDelayMs,
  };
}

/**
 * Exponential backoff with "equal jitter" (half fixed, half random, so retries
 * of many pages spread out), at least the server's Retry-After, and never later
 * than four times maxDelayMs (a Retry-After of a day is not waited for).
 */
export function retryDelayMs(policy: RetryPolicy, attempts: number, retryAfterMs: number | undefined, random = Math.random()): number {
  const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempts - 1));
  const jittered = backoff / 2 + random * (backoff / 2);
  return Math.round(Math.min(policy.maxDelayMs * 4, Math.max(jittered, retryAfterMs ?? 0)));
}
