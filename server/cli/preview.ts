// `crowdcrawl preview SPEC.json URL-or-FILE`: runs a spec's item and follow rules
// on one page and prints what a crawl would extract there, so a spec can be tried
// before a crawl starts. The page is fetched directly (no hub), or read from a
// file. With --browser the same HTML goes through the browser engine (DOMParser
// in headless Chromium), which volunteers' tabs run.
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { fetch } from 'undici';
import type { Command } from './command.ts';
import { ERRORS, type ErrorCode } from '../../shared/errors.ts';
import { parseSpec, type Spec } from '../../shared/spec/schema.ts';
import { normalizeUrl } from '../../shared/url/canonical.ts';
import type { ExtractResult } from '../../shared/extract/engine.ts';
import { extractHtml } from '../extract/cheerio.ts';
import { decodeHtml } from '../relay/charset.ts';

const HELP = `usage: crowdcrawl preview SPEC.json URL-or-FILE [--url URL] [--depth N] [--browser]

Extracts one page with a spider spec and prints {"url", "items", "links"} as JSON.

  URL-or-FILE   an http(s) URL to fetch (redirects followed, 20 s, 10 MB at most),
                or a saved HTML file
  --url URL     the page URL a FILE stands for: used for the spec's urlPatterns,
                to resolve relative links and for the follow rules' scope
                (default: the spec's first start URL)
  --depth N     the page's crawl depth, for the follow rules' maxDepth (default 0)
  --browser     extract in headless Chromium (DOMParser), as volunteers' tabs do,
                instead of Node (cheerio)

exit codes: 0 ok, 1 page or file unreadable (or no browser), 2 bad command line or spec`;

export const FETCH_TIMEOUT_MS = 20_000;
export const MAX_PAGE_BYTES = 10 * 1024 * 1024;

/** The catalogue's codes (shared/errors.ts) for a page preview could not get. */
type PreviewErrorCode = Extract<ErrorCode, 'PAGE_UNREACHABLE' | 'HTTP_STATUS' | 'PAGE_TOO_LARGE' | 'FILE_UNREADABLE' | 'BROWSER_FAILED'>;

/** A failure to get the page; exit code 1. */
export class PreviewError extends Error {
  override readonly name = 'PreviewError';
  readonly code: PreviewErrorCode;
  constructor(code: PreviewErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** A bad command line; exit code 2, with the usage. */
class UsageError extends Error {}
/** A spec file that cannot be read or is not a valid spec; exit code 2. */
class SpecFileError extends Error {}

export interface PreviewPage {
  /** The page's URL after redirects (or the URL a file stands for). */
  url: string;
  html: string;
}

/** Fetches a page as a crawl would see it: redirects followed, body capped, charset sniffed. */
export async function fetchPreviewPage(url: string, userAgent: string): Promise<PreviewPage> {
  let response;
  try {
    response = await fetch(url, {
      redirect: 'follow',
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      headers: { 'user-agent': userAgent, accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8' },
    });
  } catch (error) {
    const cause = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
    const reason = error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${FETCH_TIMEOUT_MS / 1000} s` : cause;
    throw new PreviewError('PAGE_UNREACHABLE', `cannot fetch ${url}: ${reason}`);
  }
  if (response.status < 200 || response.status > 299) {
    await response.body?.cancel();
    throw new PreviewError('HTTP_STATUS', `${url} answered ${response.status} ${response.statusText}`.trimEnd());
  }
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  try {
    for await (const chunk of response.body ?? []) {
      bytes += chunk.byteLength;
      if (bytes > MAX_PAGE_BYTES) {
        throw new PreviewError('PAGE_TOO_LARGE', `${url} is larger than ${MAX_PAGE_BYTES / 1024 / 1024} MB`);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof PreviewError) throw error;
    throw new PreviewError('PAGE_UNREACHABLE', `cannot read ${url}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const contentType = response.headers.get('content-type') ?? undefined;
  if (contentType !== undefined && !/html|xml/i.test(contentType)) {
    console.error(`crowdcrawl preview: warning: ${url} is ${contentType}, not HTML`);
  }
  return { url: response.url || url, html: decodeHtml(Buffer.concat(chunks), contentType).text };
}

async function readPageFile(path: string, url: string): Promise<PreviewPage> {
  let body: Buffer;
  try {
    body = await readFile(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new PreviewError('FILE_UNREADABLE', `cannot read ${path}: ${reason}`);
  }
  if (body.byteLength > MAX_PAGE_BYTES) throw new PreviewError('PAGE_TOO_LARGE', `${path} is larger than ${MAX_PAGE_BYTES / 1024 / 1024} MB`);
  return { url, html: decodeHtml(body, undefined).text };
}

/** Reads and validates a spec file; every problem becomes a line `path: message`. */
async function loadSpec(path: string): Promise<Spec> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new SpecFileError(`cannot read spec ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SpecFileError(`invalid spec ${path}:\n  $: not JSON (${(error as Error).message})`);
  }
  const result = parseSpec(json);
  if (!result.ok) throw new SpecFileError(`invalid spec ${path}:\n${result.issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`);
  return result.spec;
}

/** Runs the browser engine on the HTML in one headless Chromium page. */
export async function extractInBrowser(html: string, spec: Spec, pageUrl: string, depth: number): Promise<ExtractResult> {
  const { launchChromium } = await import('../browser/chromium.ts');
  const { browserExtractBundle } = await import('../extract/browser-bundle.ts');
  const bundle = await browserExtractBundle();
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.addScriptTag({ content: bundle });
    return await page.evaluate(
      ([h, s, u, d]) => (globalThis as unknown as { crowdcrawlExtract: (...a: unknown[]) => ExtractResult }).crowdcrawlExtract(h, s, u, { depth: d }),
      [html, spec, pageUrl, depth] as const,
    );
  } finally {
    await browser.close();
  }
}

function parseCommandLine(argv: string[]): { specPath: string; source: string; url?: string; depth: number; browser: boolean } | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      depth: { type: 'string' },
      browser: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  if (positionals.length !== 2) throw new UsageError(`expected SPEC.json and a URL or FILE, got ${positionals.length} argument(s)`);
  const depth = values.depth === undefined ? 0 : Number(values.depth);
  if (!Number.isInteger(depth) || depth < 0) throw new UsageError(`--depth must be a whole number >= 0, got "${values.depth}"`);
  if (values.url !== undefined && normalizeUrl(values.url) === null) throw new UsageError(`--url must be an absolute http(s) URL, got "${values.url}"`);
  return { specPath: positionals[0]!, source: positionals[1]!, url: values.url, depth, browser: values.browser };
}

export const command: Command = {
  summary: 'extract one page (URL or file) with a spec and print the items and links',
  async run(argv) {
    let spec: Spec;
    let options: Exclude<ReturnType<typeof parseCommandLine>, 'help'>;
    try {
      const parsed = parseCommandLine(argv);
      if (parsed === 'help') {
        console.log(HELP);
        return 0;
      }
      options = parsed;
      spec = await loadSpec(options.specPath);
    } catch (error) {
      console.error(`crowdcrawl preview: ${(error as Error).message}${error instanceof SpecFileError ? '' : `\n\n${HELP}`}`);
      return 2;
    }
    try {
      const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(options.source);
      if (isUrl && !/^https?:\/\//i.test(options.source)) {
        console.error(`crowdcrawl preview: only http(s) URLs can be fetched, got "${options.source}"`);
        return 2;
      }
      const page = isUrl
        ? await fetchPreviewPage(options.source, spec.politeness.userAgent)
        : await readPageFile(options.source, options.url ?? spec.startUrls[0] ?? pathToFileURL(options.source).href);
      let result: ExtractResult;
      if (options.browser) {
        try {
          result = await extractInBrowser(page.html, spec, page.url, options.depth);
        } catch (error) {
          throw new PreviewError('BROWSER_FAILED', `the browser engine failed: ${(error as Error).message}`);
        }
      } else {
        result = extractHtml(page.html, spec, page.url, { depth: options.depth });
      }
      console.log(JSON.stringify({ url: page.url, items: result.items, links: result.links }, null, 2));
      return 0;
    } catch (error) {
      if (error instanceof PreviewError) {
        console.error(`crowdcrawl preview: ${error.message} (${error.code})\n  what to do: ${ERRORS[error.code].todo}`);
        return 1;
      }
      throw error;
    }
  },
};
