// The relay's one fetch of a lease's page, shared by whoever asks for it: the
// engine's prefetch (as soon as the lease is granted) and every relay request
// the worker makes for the lease (server/transport/relay-route.ts). The site
// sees one request per lease whatever the worker does, and a worker's request
// finds the body ready or in flight instead of waiting for the site.
import { decodeHtml, sniffHtmlCharset } from './charset.ts';
import { RelayError, type PageFetcher } from './fetch-page.ts';
import type { LeaseRecord, ServedPage } from '../lease/leases.ts';
import type { Failure } from '../results/results.ts';

/** Where the fetch's outcome is reported (the engine). */
export interface LeaseFetchSink {
  now(): number;
  relayFetched(record: LeaseRecord, served: ServedPage, latencyMs: number): void;
  relayFailed(record: LeaseRecord, failure: Failure, latencyMs: number): void;
}

/** Why the relay's one fetch of a lease failed, for every request that shared it. */
export class SharedFetchError extends Error {
  readonly relayError: RelayError;
  constructor(relayError: RelayError) {
    super(relayError.message);
    this.relayError = relayError;
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
      const page = await fetcher.fetchPage(record.entry.url, { userAgent: record.crawl.spec.politeness.userAgent });
      const fetched = { finalUrl: page.finalUrl, status: page.status, contentHash: page.contentHash, contentType: page.contentType, fetchedAt: sink.now() };
      // UTF-8 pages (most of the web) go out as they came, with no decode and re-encode;
      // the worker decodes them as UTF-8 exactly as the hub would.
      const charset = sniffHtmlCharset(page.body, page.contentType);
      const payload = charset === 'utf-8' ? page.body : Buffer.from(decodeHtml(page.body, page.contentType).text, 'utf8');
      const served: ServedPage = { fetched, payload, charset };
      sink.relayFetched(record, served, page.elapsedMs);
      return served;
    } catch (error) {
      const relayError =
        error instanceof RelayError ? error : new RelayError('RELAY_INTERNAL', (error as Error).message ?? String(error), { retryable: true });
      sink.relayFailed(record, {
        code: relayError.code,
        message: relayError.message,
        retryable: relayError.retryable,
        ...(relayError.retryAfterMs !== undefined ? { retryAfterMs: relayError.retryAfterMs } : {}),
        ...(relayError.status !== undefined ? { httpStatus: relayError.status } : {}),
      }, performance.now() - startedMs);
      throw new SharedFetchError(relayError);
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
