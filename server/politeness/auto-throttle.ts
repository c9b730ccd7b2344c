// AutoThrottle, as Scrapy's (scrapy/extensions/throttle.py), per host: the
// delay between two requests to a host follows its latency, so that on average
// `targetConcurrency` requests are in flight to it; a 429 or 503 answer, or a
// timeout, doubles the delay at once. The delay stays between the host's floor
// (the spec's perHostDelayMs, or robots.txt's Crawl-delay when larger) and the
// ceiling.
//
// Differences from Scrapy: the delay starts at the floor, not at a fixed 5 s
// (the hub has measured nothing yet, and the floor is what the operator asked
// for); and Scrapy never backs off on errors, which is the one signal a site
// sends on purpose.

import type { ThrottleSettings } from '../crawl/crawl.ts';

export type { ThrottleSettings };

/** The first backoff from a delay near 0: a site that says "slow down" gets at least this much. */
export const BACKOFF_START_MS = 1000;

/** Weight of the newest sample in the latency average shown in stats. */
const LATENCY_SMOOTHING = 0.3;

function clamp(delayMs: number, floorMs: number, ceilingMs: number): number {
  // The floor wins over the ceiling: a Crawl-delay above the ceiling is still honoured.
  return Math.max(floorMs, Math.min(ceilingMs, delayMs));
}

/**
 * The delay after a response that took `latencyMs`. Like Scrapy, a non-200
 * answer may raise the delay but never lower it: error pages are small and
 * fast, and would otherwise speed the crawl up exactly when the site fails.
 */
export function delayAfterResponse(currentMs: number, floorMs: number, settings: ThrottleSettings, latencyMs: number, status: number): number {
  if (!settings.enabled) return floorMs;
  const targetMs = latencyMs / settings.targetConcurrency;
  // Halfway from the current delay towards the target, but never below the target.
  // (Rounded down, so that the halfway steps reach the target instead of stopping a millisecond short.)
  const next = Math.round(clamp(Math.max(targetMs, Math.floor((currentMs + targetMs) / 2)), floorMs, settings.maxDelayMs));
  if (status !== 200 && next <= currentMs) return currentMs;
  return next;
}

/** The delay after a 429 or 503 answer, or a timeout: doubled, at least BACKOFF_START_MS, at most the ceiling. */
export function delayAfterBackoff(currentMs: number, floorMs: number, settings: ThrottleSettings): number {
  if (!settings.enabled) return floorMs;
  return Math.round(clamp(Math.max(currentMs * 2, BACKOFF_START_MS), floorMs, settings.maxDelayMs));
}

/** Whether an answer tells the crawler to slow down. */
export function isBackoffSignal(status: number | undefined, code: string): boolean {
  return status === 429 || status === 503 || code === 'RELAY_TIMEOUT';
}

export function smoothLatency(previousMs: number | undefined, sampleMs: number): number {
  return previousMs === undefined ? sampleMs : Math.round(previousMs + LATENCY_SMOOTHING * (sampleMs - previousMs));
}
