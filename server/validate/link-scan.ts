// Links must come from the served body. A full check needs a parse (that is
// what second opinions do); this scan is the cheap test every result passes,
// checked or trusted: each reported link's last path segment (and its query,
// when it has one) must occur in the body, as written, percent-decoded or
// with `&` escaped as `&amp;`. An invented `/admin/delete?id=1` on a page that
// never mentions it fails here; a dropped link is caught by second opinions.

function variants(part: string): string[] {
  const out = [part];
  try {
    const decoded = decodeURIComponent(part);
    if (decoded !== part) out.push(decoded);
  } catch {
    // Not valid percent-encoding: only the raw form can be in the page.
  }
  if (part.includes('&')) for (const v of [...out]) out.push(v.replaceAll('&', '&amp;'));
  return out;
}

function occurs(body: string | Buffer, forms: readonly string[]): boolean {
  for (const v of forms) if (body.includes(v)) return true;
  return false;
}

/**
 * Each link's tokens with their variants, for links seen lately: the same
 * links come back on page after page, and working them out costs a URL parse
 * and a decode each. Bounded: emptied when full.
 */
const formsByLink = new Map<string, readonly (readonly string[])[]>();
const FORMS_KEPT = 4096;

function formsOf(link: string): readonly (readonly string[])[] {
  let forms = formsByLink.get(link);
  if (forms) return forms;
  forms = linkTokens(link).map(variants);
  if (formsByLink.size >= FORMS_KEPT) formsByLink.clear();
  formsByLink.set(link, forms);
  return forms;
}

/** What a link must show of itself in the page: its last path segment and its query. */
export function linkTokens(link: string): string[] {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    return [link];
  }
  const tokens: string[] = [];
  const segments = url.pathname.split('/').filter((s) => s !== '');
  const last = segments.at(-1);
  if (last !== undefined) tokens.push(last);
  if (url.search.length > 1) tokens.push(url.search.slice(1));
  // A bare root ("https://host/") may be written as "/", "./" or the host: nothing short enough to scan for.
  return tokens;
}

/** The reported links the body does not mention; empty for an honest result. */
export function linksNotInBody(body: Uint8Array | string, links: readonly string[]): string[] {
  if (links.length === 0) return [];
  // A Buffer is searched as it is (UTF-8, as the relay served it): no copy of the page as a string.
  const text = typeof body === 'string' || Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const missing: string[] = [];
  for (const link of links) {
    for (const forms of formsOf(link)) {
      if (!occurs(text, forms)) {
        missing.push(link);
        break;
      }
    }
  }
  return missing;
}
