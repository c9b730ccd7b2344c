// POST /api/preview: the operator's spec tried on one page before a crawl
// starts. The page is fetched through the hub's own page fetcher, so the same
// safety rules apply as for a crawl (http(s) only, public addresses only unless
// allowed, size and time limits), decoded like the relay decodes it, and
// extracted with cheerio as a Node worker would.
import type { Request, Response } from 'express';
import { assertSpec } from '../../../shared/spec/schema.ts';
import { extractHtml } from '../../extract/cheerio.ts';
import type { PreviewResult } from '../../../shared/admin-api.ts';
import { decodeHtml } from '../../relay/charset.ts';
import { RelayError, type PageFetcher } from '../../relay/fetch-page.ts';
import { HubError } from '../../../shared/errors.ts';
import type { ErrorSender } from './send-error.ts';

/** What the console shows at most; the counts say how many there were. */
export const PREVIEW_MAX_ITEMS = 500;
export const PREVIEW_MAX_LINKS = 1000;


function previewRequest(body: unknown): { spec: unknown; url: string | undefined } {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !Object.hasOwn(body, 'spec')) {
    throw new HubError('BAD_REQUEST', 'send { "spec": {...}, "url": "https://..." } (url defaults to the first start URL)');
  }
  const { spec, url } = body as { spec: unknown; url?: unknown };
  if (url !== undefined && (typeof url !== 'string' || url.length > 8192)) throw new HubError('BAD_REQUEST', '"url" must be a URL string');
  return { spec, url: url === undefined || url === '' ? undefined : url };
}

export function previewHandler(fetcher: PageFetcher | undefined, sendError: ErrorSender) {
  return async (req: Request, res: Response): Promise<void> => {
    if (!fetcher) {
      sendError(res, 'PREVIEW_UNAVAILABLE', 'this hub was started without a page fetcher, so it cannot preview');
      return;
    }
    const { spec: specInput, url: requested } = previewRequest(req.body);
    const spec = assertSpec(specInput); // SpecError: 400 SPEC_INVALID with every path
    const url = requested ?? spec.startUrls[0]!;
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    try {
      const page = await fetcher.fetchPage(url, { userAgent: spec.politeness.userAgent, signal: abort.signal });
      const { text, charset } = decodeHtml(page.body, page.contentType);
      const extracted = extractHtml(text, spec, page.finalUrl, { depth: 0 });
      const result: PreviewResult = {
        url,
        finalUrl: page.finalUrl,
        status: page.status,
        contentType: page.contentType,
        charset,
        elapsedMs: page.elapsedMs,
        items: extracted.items.slice(0, PREVIEW_MAX_ITEMS),
        itemsTotal: extracted.items.length,
        links: extracted.links.slice(0, PREVIEW_MAX_LINKS),
        linksTotal: extracted.links.length,
      };
      res.json(result);
    } catch (error) {
      if (abort.signal.aborted) return;
      if (error instanceof RelayError) {
        // The page could not be had: say why, as a crawl would record it.
        sendError(res, error.code, error.message, { url, ...(error.status !== undefined ? { httpStatus: error.status } : {}) });
        return;
      }
      throw error;
    }
  };
}
