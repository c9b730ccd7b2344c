// The relay's one fetch of a lease's page, shared by whoever asks for it: the
// engine's prefetch (as soon as the lease is granted) and every relay request
// the worker makes for the lease (server/transport/relay-route.ts). The site
// sees one request per lease whatever the worker does, and a worker's request
// finds the body ready or in flight instead of waiting for the site.
import type { HttpErrorCode } from '../../shared/errors.ts';
import { decodeHtml, sniffHtmlCharset } from '../relay/charset.ts';
import { RelayError, type FetchedPage, type PageFetcher } from '../relay/fetch-page.ts';
import type { LeaseRecord, ServedPage } from '../lease/leases.ts';
import type { Failure } from '../results/results.ts';

/** Where the fetch's outcome is reported (the engine). */
export interface LeaseFetchSink {
  now(): number;
  relayFetched(record: LeaseRecord, served: ServedPage, latencyMs: number): void;
  relayFailed(record: LeaseRecord, failure: Failure, latencyMs: number): void;
  /** Set when re-crawls are on (server/ops/recrawl.ts): lease pages revisited with a conditional request. */
  readonly conditional?: ConditionalFetch | undefined;
}

/** What the previous run of a re-crawl saw of a page. */
export interface PreviousValidators {
  etag: string | null;
  lastModified: string | null;
}

/** A re-crawl's conditional fetch: what to ask the site, and what to do with its answer. */
export interface ConditionalFetch {
  /** The previous run's validators for this lease's page; undefined when the lease is not a re-crawl's revisit. */
  previousPage(record: LeaseRecord): Promise<PreviousValidators | undefined>;
  /** True when the page had not changed (a 304, or the same bytes) and the hub recorded it with the previous run's items. */
  carryIfUnchanged(record: LeaseRecord, page: FetchedPage, previous: PreviousValidators): Promise<boolean>;
  /** Keeps a fetched page's validators for the next run. */
  fetched(record: LeaseRecord, page: FetchedPage): void;
}

export interface Refusal {
  code: HttpErrorCode;
  message: string;
  retryable: boolean;
}

/** Why the relay's one fetch of a lease failed (or was not needed), for every request that shared it. */
export class SharedFetchError extends Error {
  readonly refusal: Refusal;
  constructor(refusal: Refusal) {
    super(refusal.message);
    this.refusal = refusal;
  }
}

/**
 * Fetches a lease's page once: the first caller starts the fetch, every later
 * one (a prefetch, a retry, a flood of requests) shares it and gets the same body.
 */
export function fetchOnce(sink: LeaseFetchSink, fetcher: PageFetcher, record: LeaseRecord): Promise<ServedPage> {
  record.relay ??= (async () => {
    const startedMs = performance.now();
    try {
      const previous = await sink.conditional?.previousPage(record);
      const page = await fetcher.fetchPage(record.entry.url, {
        userAgent: record.crawl.spec.politeness.userAgent,
        ...(previous ? { conditional: { etag: previous.etag, lastModified: previous.lastModified } } : {}),
      });
      if (previous && (await sink.conditional!.carryIfUnchanged(record, page, previous))) {
        // Recorded by the hub with the previous run's items; the worker has nothing to extract.
        throw new SharedFetchError({ code: 'PAGE_UNCHANGED', message: `${page.finalUrl} has not changed since the previous run: the hub recorded it`, retryable: false });
      }
      sink.conditional?.fetched(record, page);
      const fetched = { finalUrl: page.finalUrl, status: page.status, contentHash: page.contentHash, contentType: page.contentType, fetchedAt: sink.now() };
      // UTF-8 pages (most of the web) go out as they came, with no decode and re-encode;
      // the worker decodes them as UTF-8 exactly as the hub would.
      const charset = sniffHtmlCharset(page.body, page.contentType);
      const payload = charset === 'utf-8' ? page.body : Buffer.from(decodeHtml(page.body, page.contentType).text, 'utf8');
      const served: ServedPage = { fetched, payload, charset };
      sink.relayFetched(record, served, page.elapsedMs);
      return served;
    } catch (error) {
      if (error instanceof SharedFetchError) throw error;
      const relayError =
        error instanceof RelayError ? error : new RelayError('RELAY_INTERNAL', (error as Error).message ?? String(error), { retryable: true });
      sink.relayFailed(record, {
        code: relayError.code,
        message: relayError.message,
        retryable: relayError.retryable,
        ...(relayError.retryAfterMs !== undefined ? { retryAfterMs: relayError.retryAfterMs } : {}),
        ...(relayError.status !== undefined ? { httpStatus: relayError.status } : {}),
      }, performance.now() - startedMs);
      throw new SharedFetchError({ code: relayError.code, message: relayError.message, retryable: relayError.retryable });
    }
  })();
  return record.relay;
}

/**
 * Why recent prefetches failed, by lease id: the fetch ended its lease before
 * the worker asked, and the worker's request should still learn the relay's
 * own reason (RELAY_HTTP_STATUS, ...), not just that the lease is gone.
 * Bounded: the oldest are forgotten first.
 */
export class FailedFetches {
  private readonly max: number;
  private readonly byLease = new Map<string, { workerId: string; error: SharedFetchError }>();

  constructor(max = 10_000) {
    this.max = max;
  }

  add(record: LeaseRecord, error: unknown): void {
    if (!(error instanceof SharedFetchError)) return;
    this.byLease.set(record.id, { workerId: record.workerId, error });
    if (this.byLease.size > this.max) this.byLease.delete(this.byLease.keys().next().value!);
  }

  /** The failure of `leaseId`'s fetch, if it was `workerId`'s lease. */
  of(workerId: string, leaseId: string): SharedFetchError | undefined {
    const found = this.byLease.get(leaseId);
    return found?.workerId === workerId ? found.error : undefined;
  }
}
