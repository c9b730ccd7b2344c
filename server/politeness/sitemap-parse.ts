// Reads a sitemap (sitemaps.org 0.9): an XML <urlset> of <url><loc>, an XML
// <sitemapindex> of <sitemap><loc>, or a plain text file of one URL a line;
// any of them gzipped (.xml.gz, sent as application/gzip rather than with a
// Content-Encoding, which the fetcher already undoes).
//
// The XML is read with htmlparser2 in XML mode, the streaming parser cheerio
// is built on: entities, CDATA, comments and namespace prefixes are handled by
// it, and no tree is built, so a 50 MB sitemap costs its text and its URLs.
// The text is written to the parser in slices with a turn of the event loop
// between them, so a large sitemap does not stall the hub.
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { Parser } from 'htmlparser2';
import type { SitemapErrorCode } from '../../shared/errors.ts';

/** sitemaps.org: a sitemap holds at most 50,000 URLs and 50 MB uncompressed. */
export const SITEMAP_MAX_URLS = 50_000;
export const SITEMAP_MAX_BYTES = 50 * 1024 * 1024;

const SLICE_CHARS = 512 * 1024;
const gunzipAsync = promisify(gunzip);

export class SitemapError extends Error {
  override readonly name = 'SitemapError';
  readonly code: SitemapErrorCode;
  constructor(code: SitemapErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface ParsedSitemap {
  /** urlset: pages; index: more sitemaps; text: pages, one a line. */
  kind: 'urlset' | 'index' | 'text';
  /** The <loc> values (or lines), trimmed, in document order. */
  urls: string[];
  /** More than SITEMAP_MAX_URLS were listed; the rest were ignored. */
  truncated: boolean;
}

function isGzip(body: Uint8Array): boolean {
  return body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b;
}

/** The sitemap's bytes, gunzipped when they are gzip (whatever the URL or type says), at most maxBytes. */
export async function sitemapBytes(body: Buffer, maxBytes = SITEMAP_MAX_BYTES): Promise<Buffer> {
  if (!isGzip(body)) {
    if (body.length > maxBytes) throw new SitemapError('SITEMAP_TOO_LARGE', `the sitemap is larger than ${maxBytes} bytes`);
    return body;
  }
  try {
    // maxOutputLength stops a small gzip that would inflate to gigabytes.
    return await gunzipAsync(body, { maxOutputLength: maxBytes });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) {
      throw new SitemapError('SITEMAP_TOO_LARGE', `the sitemap is larger than ${maxBytes} bytes uncompressed`);
    }
    throw new SitemapError('SITEMAP_BAD_GZIP', `the sitemap is not valid gzip: ${(error as Error).message}`);
  }
}

function localName(name: string): string {
  return name.slice(name.indexOf(':') + 1).toLowerCase();
}

/** Parses a sitemap's (already gunzipped) bytes. */
export async function parseSitemap(bytes: Buffer, maxUrls = SITEMAP_MAX_URLS): Promise<ParsedSitemap> {
  const text = new TextDecoder('utf-8').decode(bytes); // drops a BOM; sitemaps are UTF-8
  const start = text.trimStart();
  if (!start.startsWith('<')) return parseTextSitemap(text, maxUrls);

  let root: string | undefined;
  let inEntry = false;
  let inLoc = false;
  let loc = '';
  let truncated = false;
  const urls: string[] = [];
  const parser = new Parser(
    {
      onopentag(raw) {
        const name = localName(raw);
        if (root === undefined) {
          root = name;
          return;
        }
        if ((root === 'urlset' && name === 'url') || (root === 'sitemapindex' && name === 'sitemap')) inEntry = true;
        else if (inEntry && name === 'loc') {
          inLoc = true;
          loc = '';
        }
      },
      ontext(chunk) {
        if (inLoc) loc += chunk;
      },
      onclosetag(raw) {
        const name = localName(raw);
        if (name === 'loc' && inLoc) {
          inLoc = false;
          const url = loc.trim();
          if (url !== '') {
            if (urls.length < maxUrls) urls.push(url);
            else truncated = true;
          }
        } else if (name === 'url' || name === 'sitemap') {
          inEntry = false;
        }
      },
    },
    { xmlMode: true, decodeEntities: true },
  );
  for (let at = 0; at < text.length; at += SLICE_CHARS) {
    parser.write(text.slice(at, at + SLICE_CHARS));
    if (at + SLICE_CHARS < text.length) await new Promise((resolve) => setImmediate(resolve));
  }
  parser.end();
  if (root !== 'urlset' && root !== 'sitemapindex') {
    throw new SitemapError('SITEMAP_INVALID', `not a sitemap: the root element is ${root === undefined ? 'missing' : `<${root}>`}, not <urlset> or <sitemapindex>`);
  }
  return { kind: root === 'urlset' ? 'urlset' : 'index', urls, truncated };
}

function parseTextSitemap(text: string, maxUrls: number): ParsedSitemap {
  const urls: string[] = [];
  let truncated = false;
  for (const line of text.split(/\r?\n|\r/)) {
    const url = line.trim();
    if (url === '') continue;
    if (!/^https?:\/\//i.test(url)) {
      throw new SitemapError('SITEMAP_INVALID', `not a sitemap: a text sitemap has one absolute URL a line, not ${JSON.stringify(url.slice(0, 80))}`);
    }
    if (urls.length < maxUrls) urls.push(url);
    else truncated = true;
  }
  return { kind: 'text', urls, truncated };
}
