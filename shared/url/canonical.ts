// URL canonicalization: how a link found on a page becomes the URL we fetch, and
// how that URL becomes the key the frontier deduplicates on.
//
// Parsing is the WHATWG URL parser's (what browsers do), so a volunteer's browser
// tab and a Node worker resolve the same link to the same URL. On top of it:
// - only http(s) URLs without user:password credentials are kept (fetch refuses
//   credentials in URLs, and a crawler must not leak or follow them);
// - the fragment is dropped (it never reaches the server);
// - percent-escapes are normalized as RFC 3986 §6.2.2.2 allows: escapes of
//   unreserved characters are decoded (%7E → ~), the others get upper-case hex.
//
// The query string is kept in its original order in the URL we fetch, because
// servers may depend on it. The dedup key (`urlKey`) sorts the parameters by name
// so that `?b=2&a=1` and `?a=1&b=2` are fetched once. Scrapy's canonicalize_url
// sorts the query of both; we keep the fetched URL as the page wrote it.
//
// Every function here is deterministic and never throws.
import { parseUrl, type WhatwgUrl } from './whatwg-url.ts';
import { memoizeString } from './memo.ts';

/** Longer URLs are refused: servers and browsers commonly cap URLs at about 8 KB. */
export const MAX_URL_LENGTH = 8192;

/** HTML's "strip leading and trailing ASCII whitespace" (tab, LF, FF, CR, space). */
const SURROUNDING_ASCII_WHITESPACE = /^[\t\n\f\r ]+|[\t\n\f\r ]+$/g;

const PERCENT_ESCAPE = /%([0-9A-Fa-f]{2})/g;
/** RFC 3986 unreserved characters: their escapes mean the same as the characters. */
const UNRESERVED = /^[A-Za-z0-9._~-]$/;

function stripAsciiWhitespace(value: string): string {
  return value.replace(SURROUNDING_ASCII_WHITESPACE, '');
}

/** %7e → ~, %41 → A; %2f → %2F. A lone or malformed % is left as browsers leave it. */
function normalizePercentEncoding(text: string): string {
  return text.replace(PERCENT_ESCAPE, (_escape, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
}

/** Serializes a parsed URL in canonical form, or null when it is not a URL we fetch. */
function canonicalize(url: WhatwgUrl): string | null {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.username !== '' || url.password !== '') return null;
  if (url.hostname === '') return null;
  // Chromium's parser turns `http://exa mple.com/` into a host with "%20" in it,
  // where Node's refuses it; no real host has a '%', so refuse it on both sides.
  if (url.hostname.includes('%')) return null;
  // The parser has already lower-cased the scheme and host, turned IDN hosts into
  // punycode, dropped default ports, made an empty path "/", removed dot segments
  // and escaped the characters that must be escaped. The fragment goes: in a
  // serialized http(s) URL the first '#' starts it (the parser escapes every
  // other '#'), so cutting there is what `url.hash = ''` gives, without
  // serializing the URL a second time.
  const origin = `${url.protocol}//${url.host}`;
  const serialized = url.href;
  const fragment = serialized.indexOf('#');
  const href = fragment === -1 ? serialized : serialized.slice(0, fragment);
  if (!href.startsWith(origin)) return null; // cannot happen without credentials; be safe
  const canonical = origin + normalizePercentEncoding(href.slice(origin.length));
  return canonical.length > MAX_URL_LENGTH ? null : canonical;
}

/**
 * The URL we fetch for an absolute URL: http(s) only, no credentials, no fragment,
 * canonical case, port, path and percent-encoding; the query kept as written
 * (an empty "?" too, RFC 3986 §6.2.3). Null when the URL is not one we can fetch.
 */
export function normalizeUrl(url: string): string | null {
  if (typeof url !== 'string' || url.length > MAX_URL_LENGTH) return null;
  const parsed = parseUrl(url);
  return parsed === null ? null : canonicalize(parsed);
}

/**
 * The document base URL (HTML's "frozen base URL"): `<base href>` resolved against
 * the page URL when it parses and is not data: or javascript:, else the page URL.
 */
function documentBaseUrl(pageUrl: string, baseHref: string | null | undefined): string | undefined {
  if (typeof pageUrl !== 'string' || pageUrl.length > MAX_URL_LENGTH) return undefined;
  const page = parseUrl(pageUrl);
  if (page === null) return undefined;
  if (typeof baseHref === 'string' && baseHref.length <= MAX_URL_LENGTH) {
    const base = parseUrl(stripAsciiWhitespace(baseHref), page.href);
    if (base !== null && base.protocol !== 'data:' && base.protocol !== 'javascript:') return base.href;
  }
  return page.href;
}

/**
 * Resolves a link found on a page (an href or src value) to the URL we would
 * fetch, like a browser: surrounding ASCII whitespace stripped, resolved against
 * `<base href>` (when given and valid) or the page URL, then `normalizeUrl`.
 * Null for links we do not follow: javascript:, mailto:, data:, tel: and every
 * other non-http(s) scheme, URLs with credentials, unparsable or over-long links.
 */
export function resolveLink(href: string, pageUrl: string, baseHref?: string | null): string | null {
  return linkResolver(pageUrl, baseHref)(href);
}

/**
 * resolveLink for the links of one page: the document base URL is worked out
 * once, not once per link.
 */
export function linkResolver(pageUrl: string, baseHref?: string | null): (href: string) => string | null {
  const base = documentBaseUrl(pageUrl, baseHref);
  return (href) => {
    if (typeof href !== 'string') return null;
    const link = stripAsciiWhitespace(href);
    if (link.length > MAX_URL_LENGTH) return null;
    const resolved = parseUrl(link, base);
    return resolved === null ? null : canonicalize(resolved);
  };
}

/** A query parameter's name: the part before the first "=" (the whole parameter when there is none). */
function parameterName(parameter: string): string {
  const equals = parameter.indexOf('=');
  return equals === -1 ? parameter : parameter.slice(0, equals);
}

/**
 * The frontier's deduplication key: `normalizeUrl`'s form with the query
 * parameters sorted by name. The sort is stable, so repeated names keep their
 * relative order (`?a=2&a=1` stays so: the order of repeated values often means
 * something); blank values are kept (`?a=&b`); empty parameters (`&&`) and an
 * empty query (`?`) are dropped, as Scrapy's canonicalize_url does. Parameters
 * are compared as written after percent-escape normalization, never re-encoded.
 *
 * Input that `normalizeUrl` refuses is returned unchanged: no canonical key can
 * equal it, so distinct bad inputs stay distinct and nothing throws.
 */
export function urlKey(url: string): string {
  return typeof url === 'string' ? memoizedUrlKey(url) : '';
}

/** urlKey's work; memoized (see memo.ts): the extraction engine and the hub's checks take the key of every link of every page. */
const memoizedUrlKey = memoizeString((url: string): string => {
  const normalized = normalizeUrl(url);
  if (normalized === null) return url;
  // A canonical URL has no fragment and its path cannot hold a raw "?".
  const queryStart = normalized.indexOf('?');
  if (queryStart === -1) return normalized;
  const withoutQuery = normalized.slice(0, queryStart);
  const parameters = normalized.slice(queryStart + 1).split('&').filter((p) => p !== '');
  if (parameters.length === 0) return withoutQuery;
  const sorted = parameters
    .map((parameter) => ({ name: parameterName(parameter), parameter }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return `${withoutQuery}?${sorted.map((p) => p.parameter).join('&')}`;
});
