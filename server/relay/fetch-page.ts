// The fetch relay's fetcher: the only code in crowdcrawl that talks to crawled
// sites. The hub calls it for a lease's URL (GET /relay/:leaseId) and hands the
// page to the worker that holds the lease.
//
// It must never become an open proxy or a way into the hub's network, so:
// only GET, only http: and https:, only public unicast addresses (checked on
// the socket actually connected, see guarded-connect.ts), redirects followed by
// hand with every hop checked again, one deadline over the whole fetch
// including the body, and a cap on the body at every decoding stage and on
// the compression ratio. Hosts on the allow
// list (--allow-host) skip the address checks: that is how local sites and
// tests are crawled.
import type { LookupFunction } from 'node:net';
import { createHash } from 'node:crypto';
import { Agent } from 'undici';
import { z } from 'zod';
import { defaultPortFor, parseAllowHost, type AllowHostEntry } from './address-policy.ts';
import { RelayError, RelayErrorCode, parseRetryAfterMs } from './errors.ts';
import { assertHostMayBeFetched, createGuardedConnector } from './guarded-connect.ts';
import { ACCEPT_ENCODING, DEFAULT_MAX_COMPRESSION_RATIO, parseContentCodings, readBody } from './read-body.ts';

export { RelayError, RelayErrorCode, isRetryable, parseRetryAfterMs } from './errors.ts';
export type { RelayErrorOptions } from './errors.ts';

const MIB = 1024 * 1024;

function isValidAllowHost(entry: string): boolean {
  try {
    parseAllowHost(entry);
    return true;
  } catch {
    return false;
  }
}

export const pageFetcherOptionsSchema = z.strictObject({
  /** Hosts fetched even though they are loopback or private: `host`, `host:port`, `[v6]`, `[v6]:port`. */
  allowHosts: z
    .array(z.string().min(1).refine(isValidAllowHost, 'an allowed host is host, host:port, [ipv6] or [ipv6]:port'))
    .default([]),
  /** The largest body kept, counted after undoing Content-Encoding. */
  maxBodyBytes: z.number().int().min(1).default(10 * MIB),
  /** A Content-Encoding layer may put out at most this many times its input (RELAY_DECODED_TOO_LARGE past it). */
  maxCompressionRatio: z.number().min(1).default(DEFAULT_MAX_COMPRESSION_RATIO),
  /** The whole fetch: every hop's connect, headers and body. */
  timeoutMs: z.number().int().min(1).default(30_000),
  /** Longest wait for one hop's response headers (never more than timeoutMs). */
  headersTimeoutMs: z.number().int().min(1).optional(),
  maxRedirects: z.number().int().min(0).max(50).default(5),
  /** Media types (without parameters) accepted as the final answer. */
  allowedContentTypes: z
    .array(z.string().min(1).transform((type) => type.trim().toLowerCase()))
    .min(1)
    .default(['text/html', 'application/xhtml+xml']),
  /** Sent when fetchPage is not given one (crawls normally set their own). */
  userAgent: z.string().min(1).default('crowdcrawl/0.1 (volunteer-powered crawler)'),
  /**
   * Connections kept to one origin (scheme, host, port). The frontier already
   * caps a host's requests in flight at the crawl's perHostConcurrency (at most
   * 1,000), and undici opens a connection only when every open one is busy, so
   * N pages in flight get N keep-alive connections; this is only a ceiling
   * (a fixed 8 here once held a spec's 16 pages to 8 connections).
   */
  maxConnectionsPerOrigin: z.number().int().min(1).default(1000),
  /** Same shape as dns.lookup; called with `{ all: true }`. Tests map their host names with it. */
  lookup: z.custom<LookupFunction>((value) => typeof value === 'function', 'lookup must be a function like dns.lookup').optional(),
});

export type PageFetcherOptions = z.input<typeof pageFetcherOptionsSchema>;
export type ResolvedPageFetcherOptions = z.output<typeof pageFetcherOptionsSchema>;

export interface FetchPageOptions {
  userAgent?: string;
  /** Aborting it ends the fetch with RELAY_ABORTED. */
  signal?: AbortSignal;
  /** The Accept header; defaults to the allowed content types. */
  accept?: string;
  /**
   * Media types accepted as the final answer of this fetch instead of the
   * fetcher's (robots.txt is text/plain, sitemaps XML or gzip); "*\/*" accepts
   * any type, a missing Content-Type included.
   */
  allowedContentTypes?: readonly string[];
  /** A lower cap on the body for this fetch (never above the fetcher's maxBodyBytes). */
  maxBodyBytes?: number;
  /**
   * A conditional request (a re-crawl): sent as If-None-Match / If-Modified-Since;
   * a 304 answer then comes back as a page with status 304 and no body.
   */
  conditional?: { etag?: string | null; lastModified?: string | null };
}

/** The response headers worth keeping: for the charset, caching and politeness. */
export type FetchedPageHeaders = Partial<Record<'content-type' | 'last-modified' | 'etag' | 'retry-after', string>>;

export interface FetchedPage {
  /** The URL as asked for. */
  requestedUrl: string;
  /** The URL of the answer, after redirects, without a fragment. */
  finalUrl: string;
  status: number;
  /** The Content-Type header as sent (with its parameters, e.g. charset). */
  contentType: string;
  headers: FetchedPageHeaders;
  /** Decoded from gzip, deflate or br; at most maxBodyBytes. */
  body: Buffer;
  /** sha256 of body, lower-case hex. */
  contentHash: string;
  /** Every URL redirected to, in order; the last is finalUrl. */
  redirects: string[];
  elapsedMs: number;
}

export interface PageFetcher {
  fetchPage(url: string, opts?: FetchPageOptions): Promise<FetchedPage>;
  /** Aborts fetches under way (RELAY_ABORTED) and closes the connections. */
  close(): Promise<void>;
}

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
const KEPT_HEADERS = ['content-type', 'last-modified', 'etag', 'retry-after'] as const;
/** Bytes of a redirect or error body read so the connection can be reused; past that it is closed. */
const DISCARD_LIMIT_BYTES = 64 * 1024;

type ResponseHeaders = Record<string, string | string[] | undefined>;

function firstHeader(headers: ResponseHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function joinedHeader(headers: ResponseHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** An Accept header naming these types, the first preferred. */
function acceptHeader(types: readonly string[]): string {
  return types.map((type, index) => (index === 0 ? type : `${type};q=0.9`)).join(', ');
}

function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Parses a URL to fetch, or a redirect target relative to `base`; drops the fragment. */
function parseFetchUrl(text: string, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(text, base);
  } catch {
    throw new RelayError(RelayErrorCode.RELAY_BAD_URL, `not a URL: ${JSON.stringify(text.slice(0, 200))}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new RelayError(RelayErrorCode.RELAY_BAD_SCHEME, `only http: and https: URLs are fetched, not ${url.protocol}`);
  }
  if (url.hostname === '') throw new RelayError(RelayErrorCode.RELAY_BAD_URL, `no host in ${url.href}`);
  url.hash = '';
  return url;
}

/** Undici and socket failures, sorted into the relay's codes. */
function networkError(error: unknown): RelayError {
  const code = String((error as { code?: unknown }).code ?? '');
  const message = (error as Error).message ?? String(error);
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new RelayError(RelayErrorCode.RELAY_TIMEOUT, `timed out: ${message}`, { cause: error });
  }
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) {
    // A bad certificate stays bad: trying again will not help.
    return new RelayError(RelayErrorCode.RELAY_CONNECT_FAILED, `TLS failed (${code}): ${message}`, { cause: error, retryable: false });
  }
  if (code.startsWith('E') || (code.startsWith('UND_ERR') && code !== 'UND_ERR_INVALID_ARG')) {
    return new RelayError(RelayErrorCode.RELAY_CONNECT_FAILED, `connection failed (${code}): ${message}`, { cause: error });
  }
  return new RelayError(RelayErrorCode.RELAY_INTERNAL, `fetch failed: ${message}`, { cause: error });
}

async function discardBody(body: { dump(opts?: { limit?: number; signal?: AbortSignal }): Promise<void> }, signal: AbortSignal) {
  try {
    await body.dump({ limit: DISCARD_LIMIT_BYTES, signal });
  } catch {
    // The body is not wanted; a failure here only costs the connection.
  }
}

export function createPageFetcher(input: PageFetcherOptions = {}): PageFetcher {
  const options = pageFetcherOptionsSchema.parse(input);
  const allowHosts: AllowHostEntry[] = options.allowHosts.map(parseAllowHost);
  const allowedTypes = new Set(options.allowedContentTypes);
  const headersTimeoutMs = Math.min(options.headersTimeoutMs ?? options.timeoutMs, options.timeoutMs);
  const defaultAccept = acceptHeader(options.allowedContentTypes);
  const agent = new Agent({
    connect: createGuardedConnector({ allowHosts, lookup: options.lookup, connectTimeoutMs: options.timeoutMs }),
    headersTimeout: headersTimeoutMs,
    bodyTimeout: options.timeoutMs,
    connections: options.maxConnectionsPerOrigin,
  });
  const running = new Set<AbortController>();
  let closed = false;

  async function fetchHops(requested: string, url: URL, opts: FetchPageOptions, signal: AbortSignal, startedMs: number) {
    const redirects: string[] = [];
    const visited = new Set<string>([url.href]);
    const callTypes = opts.allowedContentTypes?.map((type) => type.trim().toLowerCase());
    const accepted = callTypes ? new Set(callTypes) : allowedTypes;
    const anyType = accepted.has('*/*');
    const maxBodyBytes = Math.min(options.maxBodyBytes, opts.maxBodyBytes ?? Number.POSITIVE_INFINITY);
    const headers = {
      'user-agent': opts.userAgent || options.userAgent,
      accept: opts.accept ?? (callTypes ? acceptHeader(callTypes) : defaultAccept),
      'accept-encoding': ACCEPT_ENCODING,
      ...(opts.conditional?.etag ? { 'if-none-match': opts.conditional.etag } : {}),
      ...(opts.conditional?.lastModified ? { 'if-modified-since': opts.conditional.lastModified } : {}),
    };
    for (;;) {
      // IP literals and localhost are refused here, before any connection; names are checked when resolved.
      assertHostMayBeFetched(allowHosts, url.hostname, Number(url.port) || defaultPortFor(url.protocol));
      const response = await agent.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        headers,
        signal,
      });
      const status = response.statusCode;
      const responseHeaders = response.headers as ResponseHeaders;
      const location = firstHeader(responseHeaders, 'location');

      if (REDIRECT_STATUSES.has(status) && location !== undefined) {
        await discardBody(response.body, signal);
        const next = parseFetchUrl(location, url);
        if (visited.has(next.href)) {
          const path = [requested, ...redirects, next.href].join(' -> ');
          throw new RelayError(RelayErrorCode.RELAY_REDIRECT_LOOP, `redirect loop: ${next.href} was already fetched (${path})`);
        }
        if (redirects.length >= options.maxRedirects) {
          throw new RelayError(RelayErrorCode.RELAY_TOO_MANY_REDIRECTS, `more than ${options.maxRedirects} redirects from ${requested}`);
        }
        redirects.push(next.href);
        visited.add(next.href);
        url = next;
        continue;
      }

      const notModified = status === 304 && opts.conditional !== undefined;
      if ((status < 200 || status > 299) && !notModified) {
        await discardBody(response.body, signal);
        const retryAfterMs = parseRetryAfterMs(firstHeader(responseHeaders, 'retry-after'));
        throw new RelayError(RelayErrorCode.RELAY_HTTP_STATUS, `${url.href} answered ${status}`, {
          status,
          ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
        });
      }

      const contentType = firstHeader(responseHeaders, 'content-type');
      const mediaType = mediaTypeOf(contentType);
      if (notModified) await discardBody(response.body, signal);
      else if (!anyType && (contentType === undefined || !accepted.has(mediaType))) {
        await discardBody(response.body, signal);
        throw new RelayError(
          RelayErrorCode.RELAY_CONTENT_TYPE,
          `${url.href} is ${mediaType === '' ? 'of no stated type' : mediaType}, not one of ${[...accepted].join(', ')}`,
        );
      }

      const contentEncoding = joinedHeader(responseHeaders, 'content-encoding');
      const declaredLength = Number(firstHeader(responseHeaders, 'content-length'));
      if (!notModified && parseContentCodings(contentEncoding).length === 0 && declaredLength > maxBodyBytes) {
        await discardBody(response.body, signal);
        throw new RelayError(RelayErrorCode.RELAY_BODY_TOO_LARGE, `the response body is ${declaredLength} bytes, more than ${maxBodyBytes}`);
      }
      const body = notModified
        ? Buffer.alloc(0)
        : await readBody(response.body, { contentEncoding, maxBodyBytes, maxCompressionRatio: options.maxCompressionRatio, signal });

      const kept: FetchedPageHeaders = {};
      for (const name of KEPT_HEADERS) {
        const value = firstHeader(responseHeaders, name);
        if (value !== undefined) kept[name] = value;
      }
      return {
        requestedUrl: requested,
        finalUrl: url.href,
        status,
        contentType: contentType ?? '',
        headers: kept,
        body,
        contentHash: createHash('sha256').update(body).digest('hex'),
        redirects,
        elapsedMs: Math.round(performance.now() - startedMs),
      } satisfies FetchedPage;
    }
  }

  async function fetchPage(requested: string, opts: FetchPageOptions = {}): Promise<FetchedPage> {
    const startedMs = performance.now();
    if (closed) throw new RelayError(RelayErrorCode.RELAY_ABORTED, 'the page fetcher is closed');
    if (opts.signal?.aborted) throw new RelayError(RelayErrorCode.RELAY_ABORTED, 'the fetch was aborted before it started');
    const url = parseFetchUrl(requested);

    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), options.timeoutMs);
    const closing = new AbortController();
    running.add(closing);
    const signal = AbortSignal.any(opts.signal ? [deadline.signal, closing.signal, opts.signal] : [deadline.signal, closing.signal]);
    try {
      return await fetchHops(requested, url, opts, signal, startedMs);
    } catch (error) {
      // Whoever aborted decides what the failure was, whatever error the abort surfaced as.
      if (opts.signal?.aborted || closing.signal.aborted) {
        throw new RelayError(RelayErrorCode.RELAY_ABORTED, `the fetch of ${requested} was aborted`, { cause: error });
      }
      if (deadline.signal.aborted) {
        throw new RelayError(RelayErrorCode.RELAY_TIMEOUT, `the fetch of ${requested} took longer than ${options.timeoutMs} ms`, { cause: error });
      }
      if (error instanceof RelayError) throw error;
      throw networkError(error);
    } finally {
      clearTimeout(timer);
      running.delete(closing);
    }
  }

  return {
    fetchPage,
    async close() {
      if (closed) return;
      closed = true;
      for (const controller of running) controller.abort();
      await agent.close();
    },
  };
}
