// GET /relay/:leaseId — a worker fetches the page of a lease it holds, through
// the hub. The hub fetches only that lease's URL (never a URL the caller names),
// so the relay is no open proxy; the fetcher refuses private addresses. The page
// comes back decoded to UTF-8, with its final URL, status and content hash in
// headers. A failed fetch ends the lease here: the hub records or retries it.
import type { Request, Response } from 'express';
import { ErrorCode, WORKER_SECRET_HEADER } from '../../shared/protocol.ts';
import { decodeHtml } from '../relay/charset.ts';
import { RelayError, type PageFetcher } from '../relay/fetch-page.ts';
import type { HubCore } from './core.ts';

export const RELAY_HEADERS = {
  finalUrl: 'x-crowdcrawl-final-url',
  status: 'x-crowdcrawl-status',
  contentHash: 'x-crowdcrawl-content-hash',
  charset: 'x-crowdcrawl-charset',
} as const;

function refuse(res: Response, status: number, code: string, message: string, retryable = false): void {
  res.status(status).type('application/json').send(JSON.stringify({ error: { code, message, retryable } }));
}

export function relayHandler(core: HubCore, fetcher: PageFetcher) {
  return async (req: Request, res: Response): Promise<void> => {
    res.setHeader('cache-control', 'no-store');
    const secret = req.header(WORKER_SECRET_HEADER);
    const worker = secret ? core.workers.bySecretToken(secret) : undefined;
    if (!worker) {
      refuse(res, 401, ErrorCode.LEASE_NOT_YOURS, `send the worker secret from the welcome event in the ${WORKER_SECRET_HEADER} header`);
      return;
    }
    const leaseId = String(req.params.leaseId ?? '');
    const record = core.leaseFor(worker, leaseId);
    if (!('entry' in record)) {
      const status = record.code === ErrorCode.LEASE_NOT_YOURS ? 403 : record.code === ErrorCode.LEASE_EXPIRED ? 410 : 404;
      refuse(res, status, record.code, record.message);
      return;
    }
    if (record.crawl.status !== 'running') {
      refuse(res, 409, ErrorCode.CRAWL_NOT_RUNNING, `the crawl is ${record.crawl.status}`);
      return;
    }
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    try {
      const page = await fetcher.fetchPage(record.entry.url, {
        userAgent: record.crawl.spec.politeness.userAgent,
        signal: abort.signal,
      });
      if (!core.leases.get(record.id)) {
        refuse(res, 410, ErrorCode.LEASE_EXPIRED, 'the lease ended while its page was being fetched');
        return;
      }
      const { text, charset } = decodeHtml(page.body, page.contentType);
      record.fetched = {
        finalUrl: page.finalUrl,
        status: page.status,
        contentHash: page.contentHash,
        contentType: page.contentType,
        fetchedAt: Date.now(),
      };
      res.status(200);
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.setHeader(RELAY_HEADERS.finalUrl, encodeURI(page.finalUrl));
      res.setHeader(RELAY_HEADERS.status, String(page.status));
      res.setHeader(RELAY_HEADERS.contentHash, page.contentHash);
      res.setHeader(RELAY_HEADERS.charset, charset);
      res.end(text);
    } catch (error) {
      if (abort.signal.aborted) {
        // The worker went away mid-fetch; its lease goes back when its socket closes or the lease expires.
        return;
      }
      const relayError =
        error instanceof RelayError ? error : new RelayError('RELAY_INTERNAL', (error as Error).message ?? String(error), { retryable: true });
      core.outcomes.fail(record, {
        code: relayError.code,
        message: relayError.message,
        retryable: relayError.retryable,
        ...(relayError.retryAfterMs !== undefined ? { retryAfterMs: relayError.retryAfterMs } : {}),
        ...(relayError.status !== undefined ? { httpStatus: relayError.status } : {}),
      });
      refuse(res, 502, relayError.code, relayError.message, relayError.retryable);
    }
  };
}
