// GET /relay/:leaseId — a worker fetches the page of a lease it holds, through
// the hub. The hub fetches only that lease's URL (never a URL the caller names),
// so the relay is no open proxy; the fetcher refuses private addresses. The page
// comes back decoded to UTF-8, with its final URL, status and content hash in
// headers. A failed fetch ends the lease here: the hub records or retries it.
// Each lease's page is fetched once (shared by every request for the lease,
// and usually started by the engine's prefetch when the lease was granted:
// server/engine/lease-fetch.ts) and kept with the lease, so the worker's result is checked against exactly
// what it was served; a second-opinion lease is served the kept body.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RELAY_PATH, WORKER_SECRET_HEADER } from '../../shared/protocol.ts';
import { ErrorCode, httpStatusOf, type HttpErrorCode } from '../../shared/errors.ts';
import type { PageFetcher } from '../relay/fetch-page.ts';
import { SharedFetchError, fetchOnce } from '../engine/lease-fetch.ts';
import type { Engine } from '../engine/engine.ts';

export const RELAY_HEADERS = {
  finalUrl: 'x-crowdcrawl-final-url',
  status: 'x-crowdcrawl-status',
  contentHash: 'x-crowdcrawl-content-hash',
  charset: 'x-crowdcrawl-charset',
} as const;

/** Answers with the code's catalogue status unless `status` says otherwise. */
function refuse(res: ServerResponse, code: HttpErrorCode, message: string, retryable = false, status: number = httpStatusOf(code)): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ error: { code, message, retryable } }));
}

/**
 * The relay is the hub's hottest path (once per page), so it is served by plain
 * node:http ahead of Express: `relayLeaseId` tells whether a request is for it.
 */
export function relayLeaseId(req: IncomingMessage): string | undefined {
  const url = req.url ?? '';
  if (req.method !== 'GET' || !url.startsWith(`${RELAY_PATH}/`)) return undefined;
  const end = url.indexOf('?');
  const raw = url.slice(RELAY_PATH.length + 1, end === -1 ? undefined : end);
  try {
    return decodeURIComponent(raw);
  } catch {
    return '';
  }
}

export function relayHandler(engine: Engine, fetcher: PageFetcher, maxConcurrentPerWorker: number) {
  /** Relay requests being answered, per worker: one worker cannot tie up the relay. */
  const active = new Map<string, number>();
  return async (req: IncomingMessage, res: ServerResponse, leaseId: string): Promise<void> => {
    const header = req.headers[WORKER_SECRET_HEADER];
    const secret = Array.isArray(header) ? header[0] : header;
    const worker = secret ? engine.workers.bySecretToken(secret) : undefined;
    if (!worker) {
      // 401, not the code's 403: the worker did not say who it is at all.
      refuse(res, ErrorCode.LEASE_NOT_YOURS, `send the worker secret from the welcome event in the ${WORKER_SECRET_HEADER} header`, false, 401);
      return;
    }
    const record = engine.leaseFor(worker, leaseId);
    const prefetchFailed = 'entry' in record ? undefined : engine.failedFetches.of(worker.id, leaseId);
    if (prefetchFailed) {
      refuse(res, prefetchFailed.refusal.code, prefetchFailed.refusal.message, prefetchFailed.refusal.retryable);
      return;
    }
    if (!('entry' in record)) {
      refuse(res, record.code === ErrorCode.LEASE_NOT_YOURS || record.code === ErrorCode.LEASE_EXPIRED ? record.code : ErrorCode.LEASE_UNKNOWN, record.message);
      return;
    }
    if (record.crawl.status !== 'running') {
      refuse(res, ErrorCode.CRAWL_NOT_RUNNING, `the crawl is ${record.crawl.status}`);
      return;
    }
    const busy = active.get(worker.id) ?? 0;
    if (busy >= maxConcurrentPerWorker) {
      refuse(res, ErrorCode.RELAY_BUSY, `at most ${maxConcurrentPerWorker} relay requests at once per worker`, true);
      return;
    }
    active.set(worker.id, busy + 1);
    try {
      // A second opinion is served from the body kept for its check: the site is not asked again.
      const served = record.check ? engine.relay.servedCheck(record) : await fetchOnce(engine.relay, fetcher, record);
      if (!engine.isLive(record)) {
        refuse(res, ErrorCode.LEASE_EXPIRED, 'the lease ended while its page was being fetched');
        return;
      }
      // Served to the worker: from now on its result is taken (a prefetched body alone is not enough).
      record.fetched = served.fetched;
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': served.payload.length,
        'cache-control': 'no-store',
        [RELAY_HEADERS.finalUrl]: encodeURI(served.fetched.finalUrl),
        [RELAY_HEADERS.status]: String(served.fetched.status),
        [RELAY_HEADERS.contentHash]: served.fetched.contentHash,
        [RELAY_HEADERS.charset]: served.charset,
      });
      res.end(served.payload);
    } catch (error) {
      if (!(error instanceof SharedFetchError)) throw error;
      refuse(res, error.refusal.code, error.refusal.message, error.refusal.retryable);
    } finally {
      const left = (active.get(worker.id) ?? 1) - 1;
      if (left <= 0) active.delete(worker.id);
      else active.set(worker.id, left);
    }
  };
}
