// The hub's politeness, between the frontier and the relay:
//
// - a gate on every URL before it is leased: robots.txt (shared by every crawl,
//   one fetch per origin) allows it, disallows it (recorded as skipped,
//   ROBOTS_DISALLOWED) or is not known yet (the host is held, and released when
//   the fetch ends; other hosts go on); its Crawl-delay raises the host's floor;
// - AutoThrottle: after each fetch the relay reports latency and status, and the
//   host's delay follows (server/politeness/auto-throttle.ts); a 429 or 503
//   doubles it, and a Retry-After pauses the whole host.
import type { FrontierEntry, FrontierGate, GateVerdict, HostQueue } from '../frontier/frontier.ts';
import { delayAfterBackoff, delayAfterResponse, isBackoffSignal, smoothLatency } from './auto-throttle.ts';
import { originOf, robotsToken, type RobotsCache, type RobotsRules } from './robots.ts';
import type { Crawl } from '../crawl/crawl.ts';
import type { Clock } from '../clock.ts';
import { SkipCode } from '../../shared/errors.ts';

/** A Retry-After longer than this pauses the host only this long (the page's own retry waits its own way). */
export const MAX_RETRY_AFTER_PAUSE_MS = 10 * 60_000;

// The skip codes are the error catalogue's (shared/errors.ts).
export { SkipCode } from '../../shared/errors.ts';

export interface HubPolitenessOptions {
  robots: RobotsCache;
  maxCrawlDelayMs: number;
  clock: Clock;
  /** Records a URL the gate dropped (the results step records it as skipped). */
  skip: (crawl: Crawl, entry: FrontierEntry, code: SkipCode, message: string) => void;
  /** Held hosts were released: leases may be granted. */
  onReleased: () => void;
}

export class HubPoliteness {
  private readonly o: HubPolitenessOptions;
  /** Hosts held for an origin's robots.txt, by crawl. */
  private readonly waiting = new Map<string, Map<Crawl, Set<string>>>();

  constructor(options: HubPolitenessOptions) {
    this.o = options;
    options.robots.on('settled', (origin) => this.settled(origin));
  }

  /** The frontier gate of one crawl. */
  gateFor(crawl: Crawl): FrontierGate {
    const politeness = crawl.spec.politeness;
    const token = robotsToken(politeness.userAgent);
    return {
      admit: (entry, host, now) => (politeness.obeyRobotsTxt ? this.admit(crawl, token, entry, host, now) : 'lease'),
    };
  }

  private admit(crawl: Crawl, token: string, entry: FrontierEntry, host: HostQueue, now: number): GateVerdict {
    const origin = originOf(entry.url, entry.host);
    const verdict = this.o.robots.peek(origin, crawl.spec.politeness.userAgent, now);
    switch (verdict.state) {
      case 'pending':
        this.hold(origin, crawl, host.host);
        return 'hold';
      case 'unreachable':
        // As Google does: nothing is fetched from the origin while its robots.txt answers 5xx.
        return Math.max(verdict.retryAt, now + 1);
      case 'gaveUp':
        this.o.skip(crawl, entry, SkipCode.ROBOTS_UNREACHABLE, `${origin}/robots.txt could not be fetched (${verdict.failures} attempts, last: ${verdict.reason}); the origin is not crawled`);
        return 'drop';
      case 'ready': {
        this.applyCrawlDelay(crawl, host, verdict.rules, token);
        if (verdict.rules.allows(entry.url, token)) return 'lease';
        const line = verdict.rules.matchingLine(entry.url, token);
        this.o.skip(crawl, entry, SkipCode.ROBOTS_DISALLOWED, `${verdict.rules.url} disallows it for "${token}"${line > 0 ? ` (line ${line})` : ''}`);
        return 'drop';
      }
    }
  }

  /** Crawl-delay becomes the host's floor (capped at maxCrawlDelayMs); the spec's perHostDelayMs still applies when larger. */
  private applyCrawlDelay(crawl: Crawl, host: HostQueue, rules: RobotsRules, token: string): void {
    const fromRobots = rules.crawlDelayMs(token);
    const crawlDelayMs = fromRobots === undefined ? null : Math.min(fromRobots, this.o.maxCrawlDelayMs);
    if (host.crawlDelayMs === crawlDelayMs) return;
    host.crawlDelayMs = crawlDelayMs;
    host.minDelayMs = Math.max(crawl.spec.politeness.perHostDelayMs, crawlDelayMs ?? 0);
    if (host.delayMs < host.minDelayMs || !crawl.throttle.enabled) host.delayMs = host.minDelayMs;
  }

  private hold(origin: string, crawl: Crawl, host: string): void {
    let byCrawl = this.waiting.get(origin);
    if (!byCrawl) this.waiting.set(origin, (byCrawl = new Map()));
    let hosts = byCrawl.get(crawl);
    if (!hosts) byCrawl.set(crawl, (hosts = new Set()));
    hosts.add(host);
  }

  private settled(origin: string): void {
    const byCrawl = this.waiting.get(origin);
    if (!byCrawl) return;
    this.waiting.delete(origin);
    for (const [crawl, hosts] of byCrawl) for (const host of hosts) crawl.frontier.release(host);
    this.o.onReleased();
  }

  /** The relay fetched a page of `hostName` in `latencyMs`: AutoThrottle moves the host's delay. */
  fetched(crawl: Crawl, hostName: string, status: number, latencyMs: number): void {
    const host = crawl.frontier.getHost(hostName);
    if (!host) return;
    host.latencyMs = smoothLatency(host.latencyMs, latencyMs);
    host.lastStatus = status;
    host.delayMs = delayAfterResponse(host.delayMs, host.minDelayMs, crawl.throttle, latencyMs, status);
  }

  /** The relay's fetch failed: a 429, a 503 or a timeout makes the host back off; a Retry-After pauses it. */
  failed(crawl: Crawl, hostName: string, code: string, status: number | undefined, retryAfterMs: number | undefined): void {
    const host = crawl.frontier.getHost(hostName);
    if (!host) return;
    if (status !== undefined) host.lastStatus = status;
    if (!isBackoffSignal(status, code)) return;
    host.backoffs++;
    host.delayMs = delayAfterBackoff(host.delayMs, host.minDelayMs, crawl.throttle);
    const pauseMs = Math.max(host.delayMs, Math.min(retryAfterMs ?? 0, MAX_RETRY_AFTER_PAUSE_MS));
    if (pauseMs > 0) crawl.frontier.pause(host.host, this.o.clock.now() + pauseMs);
  }
}
