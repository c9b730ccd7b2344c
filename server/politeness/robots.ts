// robots.txt (RFC 9309), fetched once per origin for the whole hub, through the
// relay's fetcher (so with the same address checks, timeouts and size caps as
// pages), parsed and matched with robots-parser, and cached:
//
//   2xx                      the file's rules, for cacheTtlMs;
//   4xx (but 429), a refusal  "unavailable": no rules, everything allowed, for cacheTtlMs
//   by policy, a redirect    (RFC 9309 §2.3.1.3; policy refusals also stop the
//   loop, a body too large   pages themselves, with their own code);
//   5xx, 429, timeout,       "unreachable": the origin is held (nothing leased) and
//   connect/DNS failure      robots.txt is fetched again after errorRetryMs, doubling
//                            up to errorRetryMaxMs, as Google does; after maxAttempts
//                            the origin "gives up": its URLs are skipped as
//                            ROBOTS_UNREACHABLE until errorRetryMaxMs later. When an
//                            older copy of the file is known, it is used meanwhile.
//
// A stale entry is used while its replacement is fetched, so a crawl never
// pauses every 24 hours. Fetches run in the background; `peek` never waits.
// Hubs of a fleet share what they read (RobotsStore: the database's robots
// table): a fresh copy another hub stored is used instead of a fetch, and a
// file or "unavailable" fetched here is stored, so a fleet fetches each
// robots.txt about once per expiry. Failures are not shared: each hub backs off.
// Allow/Disallow are matched by robots-match.ts, not by robots-parser's own
// matcher, which a hostile file can make take seconds per URL.
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { RELAY_ERROR_CODES, type RelayErrorCode } from '../../shared/errors.ts';

/**
 * What robots.txt is fetched with: the relay's page fetcher, handed in by the
 * engine. Declared here, by what this file uses, because politeness comes
 * before the relay in the data flow and does not import it.
 */
export interface RobotsFetcher {
  fetchPage(url: string, opts: { userAgent: string; allowedContentTypes: readonly string[]; accept: string; maxBodyBytes: number }): Promise<{ body: Buffer }>;
}

/** A relay failure (server/relay/errors.ts RelayError), known by its catalogue code. */
function asRelayFailure(error: unknown): { code: RelayErrorCode; message: string; retryable: boolean } | undefined {
  const e = error as { code?: unknown; message?: unknown; retryable?: unknown } | null;
  if (typeof e !== 'object' || e === null || typeof e.retryable !== 'boolean' || typeof e.message !== 'string') return undefined;
  return (RELAY_ERROR_CODES as readonly unknown[]).includes(e.code) ? (e as { code: RelayErrorCode; message: string; retryable: boolean }) : undefined;
}
import { systemClock, type Clock } from '../clock.ts';
import { silentLogger, type Logger } from '../log.ts';
import { compileRule, decidingRule, ROBOTS_MAX_RULE_LENGTH, type CompiledRule, type MatchSteps, type ParsedRule } from './robots-match.ts';

/** Google reads the first 500 KiB; a longer robots.txt is treated as unavailable. */
export const ROBOTS_MAX_BYTES = 512 * 1024;

export interface RobotsOptions {
  cacheTtlMs: number;
  errorRetryMs: number;
  errorRetryMaxMs: number;
  maxAttempts: number;
  maxOrigins: number;
  /** Allow/Disallow rules longer than this are dropped (default ROBOTS_MAX_RULE_LENGTH). */
  maxRuleLength?: number;
}

/**
 * robots-parser's parsed file (its typings describe an ES default export that
 * Node's CommonJS interop does not give TypeScript). `_rules`, its groups by
 * user agent, is read to match them here; the constructor checks its shape.
 */
interface Robot {
  getCrawlDelay(ua?: string): number | undefined;
  getSitemaps(): string[];
  _rules: Record<string, ParsedRule[]>;
}
const robotsParser = createRequire(import.meta.url)('robots-parser') as (url: string, contents: string) => Robot;

/** The rules of one origin's robots.txt ("no rules" when it had none to give). */
export class RobotsRules {
  readonly origin: string;
  readonly url: string;
  /** Where the rules came from: the file, or "none" (4xx and alike: everything allowed). */
  readonly source: 'file' | 'none';
  private readonly robot: Robot | undefined;
  /** Each group's rules, compiled (robots-match.ts). */
  private readonly groups = new Map<string, readonly CompiledRule[]>();
  /** String searches made by matching so far (tests show it stays small on hostile files). */
  readonly steps: MatchSteps = { n: 0 };
  /** The origin as URL serialises it (default port dropped), to tell a URL of another origin. */
  private readonly urlOrigin: string;

  constructor(origin: string, text: string | undefined, maxRuleLength = ROBOTS_MAX_RULE_LENGTH) {
    this.origin = origin;
    this.url = `${origin}/robots.txt`;
    this.urlOrigin = new URL(this.url).origin;
    this.source = text === undefined ? 'none' : 'file';
    this.robot = text === undefined ? undefined : robotsParser(this.url, text);
    const parsed: unknown = this.robot?._rules ?? {};
    if (typeof parsed !== 'object' || parsed === null) throw new Error('robots-parser no longer keeps its rules in _rules');
    for (const [agent, rules] of Object.entries(parsed as Record<string, ParsedRule[]>)) {
      const compiled: CompiledRule[] = [];
      for (const rule of rules) {
        const one = compileRule(rule, maxRuleLength);
        if (one) compiled.push(one);
      }
      this.groups.set(agent, compiled);
    }
  }

  /** The compiled rules that apply to `token`: its own group, else the `*` group. */
  rulesFor(token: string): readonly CompiledRule[] {
    const agent = token.toLowerCase().split('/')[0]!.trim();
    return this.groups.get(agent) ?? this.groups.get('*') ?? [];
  }

  /** The rule that decides for `url`; undefined when the URL is not of this origin. */
  private decide(url: string, token: string): CompiledRule | null | undefined {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return undefined;
    }
    if (parsed.origin !== this.urlOrigin) return undefined;
    // As robots-parser does: percent escapes compared in upper case.
    const path = (parsed.pathname + parsed.search).replace(/%[0-9a-fA-F]{2}/g, (m) => m.toUpperCase());
    return decidingRule(this.rulesFor(token), path, this.steps);
  }

  /** Whether `token` may fetch `url` (a URL of this origin). */
  allows(url: string, token: string): boolean {
    const rule = this.decide(url, token);
    return rule ? rule.allow : true;
  }

  /** The 1-based line of the rule that decided, or -1. */
  matchingLine(url: string, token: string): number {
    return this.decide(url, token)?.line ?? -1;
  }

  /** Crawl-delay for `token`, in ms. */
  crawlDelayMs(token: string): number | undefined {
    const seconds = this.robot?.getCrawlDelay(token);
    return seconds === undefined || !Number.isFinite(seconds) || seconds < 0 ? undefined : Math.round(seconds * 1000);
  }

  sitemaps(): string[] {
    return this.robot?.getSitemaps() ?? [];
  }
}

export type RobotsVerdict =
  | { readonly state: 'ready'; readonly rules: RobotsRules }
  /** Being fetched: hold the origin; a `settled` event follows. */
  | { readonly state: 'pending' }
  /** Unreachable: hold the origin until retryAt. */
  | { readonly state: 'unreachable'; readonly retryAt: number; readonly failures: number; readonly reason: string }
  /** Unreachable maxAttempts times in a row: skip the origin's URLs until retryAt. */
  | { readonly state: 'gaveUp'; readonly retryAt: number; readonly failures: number; readonly reason: string };

interface Entry {
  origin: string;
  rules: RobotsRules | undefined;
  expiresAt: number;
  fetching: Promise<void> | undefined;
  failures: number;
  retryAt: number;
  reason: string;
}

export interface RobotsCacheEvents {
  /** An origin's fetch ended (rules known, or unreachable): held hosts can be looked at again. */
  settled: [origin: string];
}

/**
 * The token robots.txt groups are matched against: the crawler's product name,
 * taken from "name/1.0 …" or from "Mozilla/5.0 (compatible; name/1.0; …)".
 */
export function robotsToken(userAgent: string): string {
  const compatible = /\(compatible;\s*([A-Za-z0-9_-]+)/i.exec(userAgent);
  if (compatible && compatible[1]!.toLowerCase() !== 'msie') return compatible[1]!.toLowerCase();
  const first = /^\s*([A-Za-z0-9_-]+)/.exec(userAgent);
  return (first?.[1] ?? '*').toLowerCase();
}

/** scheme://host[:port] of a canonical URL (default ports already dropped). */
export function originOf(url: string, host: string): string {
  return url.startsWith('https:') ? `https://${host}` : `http://${host}`;
}

/** Where the fleet's hubs share robots.txt copies (Storage.getRobots/putRobots; SQLite keeps none). */
export interface RobotsStore {
  getRobots(origin: string): Promise<{ body: string | null; expiresAt: number } | undefined>;
  putRobots(row: { origin: string; body: string | null; fetchedAt: number; expiresAt: number }): Promise<void>;
}

export class RobotsCache extends EventEmitter<RobotsCacheEvents> {
  private readonly fetcher: RobotsFetcher | undefined;
  /** Set by the engine: the fleet's shared copies. */
  store: RobotsStore | undefined;
  private readonly options: RobotsOptions;
  private readonly log: Logger;
  private readonly clock: Clock;
  /** In least-recently-used order (a Map keeps insertion order; a hit moves the entry to the end). */
  private readonly entries = new Map<string, Entry>();
  private closed = false;

  constructor(fetcher: RobotsFetcher | undefined, options: RobotsOptions, log: Logger = silentLogger, clock: Clock = systemClock, store?: RobotsStore) {
    super();
    this.store = store;
    this.clock = clock;
    this.fetcher = fetcher;
    this.options = options;
    this.log = log;
  }

  close(): void {
    this.closed = true;
  }

  /** What is known of an origin's robots.txt now; starts a fetch when nothing (or something stale) is known. */
  peek(origin: string, userAgent: string, now = this.clock.now()): RobotsVerdict {
    let entry = this.entries.get(origin);
    if (entry) {
      this.entries.delete(origin);
      this.entries.set(origin, entry);
    } else {
      entry = { origin, rules: undefined, expiresAt: 0, fetching: undefined, failures: 0, retryAt: 0, reason: '' };
      this.entries.set(origin, entry);
      this.evict();
    }
    const fresh = entry.rules !== undefined && entry.expiresAt > now;
    if (!fresh && !entry.fetching && entry.retryAt <= now) this.fetch(entry, userAgent);
    // A copy that is stale, or older than a failure, still beats holding the origin (Google uses its cached copy).
    if (entry.rules) return { state: 'ready', rules: entry.rules };
    if (entry.failures >= this.options.maxAttempts && entry.retryAt > now) {
      return { state: 'gaveUp', retryAt: entry.retryAt, failures: entry.failures, reason: entry.reason };
    }
    if (entry.fetching) return { state: 'pending' };
    return { state: 'unreachable', retryAt: entry.retryAt, failures: entry.failures, reason: entry.reason };
  }

  /** Resolves once the origin's robots.txt is known or found unreachable (for sitemaps). */
  async load(origin: string, userAgent: string): Promise<RobotsVerdict> {
    for (;;) {
      const verdict = this.peek(origin, userAgent);
      if (verdict.state !== 'pending') return verdict;
      await this.entries.get(origin)?.fetching;
    }
  }

  /** How many origins are known, and how many are being fetched (for stats). */
  get size(): { origins: number; fetching: number } {
    let fetching = 0;
    for (const entry of this.entries.values()) if (entry.fetching) fetching++;
    return { origins: this.entries.size, fetching };
  }

  private fetch(entry: Entry, userAgent: string): void {
    entry.fetching = this.fetchRobots(entry, userAgent).finally(() => {
      entry.fetching = undefined;
      if (!this.closed) this.emit('settled', entry.origin);
    });
  }

  private async fetchRobots(entry: Entry, userAgent: string): Promise<void> {
    const url = `${entry.origin}/robots.txt`;
    if (!this.fetcher) {
      this.succeed(entry, undefined);
      return;
    }
    if (await this.fromStore(entry)) return;
    try {
      const page = await this.fetcher.fetchPage(url, {
        userAgent,
        allowedContentTypes: ['*/*'],
        accept: 'text/plain, */*;q=0.5',
        maxBodyBytes: ROBOTS_MAX_BYTES,
      });
      // RFC 9309: UTF-8, and a byte order mark is not part of the first rule.
      this.succeed(entry, page.body.toString('utf8').replace(/^\uFEFF/, ''), true);
    } catch (error) {
      if (this.closed) return;
      const relayError = asRelayFailure(error);
      const reason = relayError ? `${relayError.code}: ${relayError.message}` : String((error as Error)?.message ?? error);
      if (relayError?.code === 'RELAY_ABORTED') return;
      if (relayError && !relayError.retryable) {
        // 4xx, a refusal by policy, a redirect loop: "unavailable", so no rules (RFC 9309 §2.3.1.3).
        this.succeed(entry, undefined, true);
        return;
      }
      entry.failures++;
      const backoff = Math.min(this.options.errorRetryMaxMs, this.options.errorRetryMs * 2 ** (entry.failures - 1));
      const gaveUp = entry.failures >= this.options.maxAttempts;
      entry.retryAt = this.clock.now() + (gaveUp ? this.options.errorRetryMaxMs : backoff);
      entry.reason = reason;
      this.log.warn(`robots.txt of ${entry.origin} unreachable (${entry.failures}×): ${reason}${gaveUp ? '; its URLs are skipped for now' : ''}`);
    }
  }

  /** A fresh copy another hub of the fleet stored: used instead of a fetch. A store that cannot be read is passed over. */
  private async fromStore(entry: Entry): Promise<boolean> {
    if (!this.store) return false;
    try {
      const stored = await this.store.getRobots(entry.origin);
      if (!stored || stored.expiresAt <= this.clock.now()) return false;
      this.succeed(entry, stored.body ?? undefined, false, stored.expiresAt);
      return true;
    } catch (error) {
      this.log.warn(`reading the fleet's copy of ${entry.origin}/robots.txt failed: ${(error as Error).message}`);
      return false;
    }
  }

  private succeed(entry: Entry, text: string | undefined, share = false, expiresAt = this.clock.now() + this.options.cacheTtlMs): void {
    entry.rules = new RobotsRules(entry.origin, text, this.options.maxRuleLength);
    entry.expiresAt = expiresAt;
    entry.failures = 0;
    entry.retryAt = 0;
    entry.reason = '';
    if (share && this.store) {
      const fetchedAt = this.clock.now();
      this.store.putRobots({ origin: entry.origin, body: text ?? null, fetchedAt, expiresAt }).catch((error: unknown) => {
        this.log.warn(`storing ${entry.origin}/robots.txt for the fleet failed: ${(error as Error).message}`);
      });
    }
  }

  private evict(): void {
    if (this.entries.size <= this.options.maxOrigins) return;
    for (const [origin, entry] of this.entries) {
      if (this.entries.size <= this.options.maxOrigins) break;
      // An origin being fetched has hosts waiting for its settled event: it stays.
      if (!entry.fetching) this.entries.delete(origin);
    }
  }
}
