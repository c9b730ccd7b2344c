// Which links of a page a crawl follows, from the spec's follow rules
// (CrawlSpider's Rule + LinkExtractor).
import type { FollowRule, Spec } from '../spec/schema.ts';
import { matchesAny } from '../spec/patterns.ts';
import { linkResolver, normalizeUrl, urlKey } from '../url/canonical.ts';
import { isInScope, scopeFrom } from '../url/scope.ts';
import { parseSelector } from './selector.ts';
import { selectRelative, type DomAdapter } from './dom.ts';
import { MAX_LINKS_PER_PAGE } from './limits.ts';

const LINK_SELECTORS = ['a[href]', 'area[href]'];
/** Candidate hrefs looked at per rule; a page with more is hostile or generated. */
const MAX_CANDIDATES_PER_RULE = MAX_LINKS_PER_PAGE * 5;

/** The follow rules that apply on a page: those without urlPatterns or with one matching the page URL. */
export function followRulesFor(spec: Spec, pageUrl: string): FollowRule[] {
  return spec.follow.filter((rule) => rule.urlPatterns.length === 0 || matchesAny(rule.urlPatterns, pageUrl));
}

/** The first <base href> of the document (HTML uses the first one only). */
export function documentBaseHref<N>(dom: DomAdapter<N>): string | null {
  const base = selectRelative(dom, dom.document, ['base[href]'], true)[0];
  return base === undefined ? null : dom.getAttribute(base, 'href');
}

/**
 * Whether `url` (absolute, resolved) passes a rule's filters for a page at `depth`:
 * allow (any, when given), deny (none), scope relative to the page (`inScope`,
 * made for that page by scopeFrom), and the rule's and the spec's maxDepth (a
 * link found on a page at depth d has depth d+1).
 */
function ruleAllows(spec: Spec, rule: FollowRule, inScope: (url: string) => boolean, url: string, depth: number): boolean {
  const linkDepth = depth + 1;
  if (rule.maxDepth !== undefined && linkDepth > rule.maxDepth) return false;
  if (spec.limits.maxDepth !== undefined && linkDepth > spec.limits.maxDepth) return false;
  if (rule.allow.length > 0 && !matchesAny(rule.allow, url)) return false;
  if (rule.deny.length > 0 && matchesAny(rule.deny, url)) return false;
  return inScope(url);
}

/**
 * The hub's re-check of a link a worker reports: true when `linkUrl` is a URL we
 * fetch and some follow rule that applies on `pageUrl` allows it at `depth` (the
 * depth of the page the link was found on). It cannot tell whether the link was
 * really on the page; it only stops a worker from widening the crawl.
 */
export function isLinkFollowable(spec: Spec, pageUrl: string, linkUrl: string, depth: number): boolean {
  const url = normalizeUrl(linkUrl);
  return url !== null && followCheck(spec, pageUrl, depth)(url);
}

/**
 * isLinkFollowable for the links of one page, already normalized (normalizeUrl):
 * the rules that apply on the page and their scopes are worked out once, not
 * once per link (the hub checks every link of every result).
 */
export function followCheck(spec: Spec, pageUrl: string, depth: number): (normalizedUrl: string) => boolean {
  const rules = followRulesFor(spec, pageUrl).map((rule) => ({ rule, inScope: scopeFrom(rule.scope, pageUrl) }));
  return (url) => rules.some(({ rule, inScope }) => ruleAllows(spec, rule, inScope, url, depth));
}

/**
 * Whether a URL queued at `depth` may stay queued under a (new) spec: start
 * URLs and sitemap pages (depth 0) always may; a found link may when the
 * spec's maxDepth allows its depth and some follow rule could have followed
 * it: the rule's maxDepth, allow and deny, and a listed-domains scope. What
 * depends on the page the link was found on (urlPatterns, sameHost and
 * sameDomain scopes) is not known any more, so it never drops a URL.
 */
export function mayStayQueued(spec: Spec, url: string, depth: number): boolean {
  if (depth === 0) return true;
  if (spec.limits.maxDepth !== undefined && depth > spec.limits.maxDepth) return false;
  return spec.follow.some((rule) => {
    if (rule.maxDepth !== undefined && depth > rule.maxDepth) return false;
    if (rule.allow.length > 0 && !matchesAny(rule.allow, url)) return false;
    if (rule.deny.length > 0 && matchesAny(rule.deny, url)) return false;
    return typeof rule.scope !== 'object' || isInScope(rule.scope, url, url);
  });
}

/** The raw href values a rule picks, in order. */
function candidateHrefs<N>(dom: DomAdapter<N>, rule: FollowRule): string[] {
  const hrefs: string[] = [];
  const add = (element: N, name: string): void => {
    const value = dom.getAttribute(element, name);
    if (value !== null) hrefs.push(value);
  };
  if (rule.selector === undefined) {
    for (const link of selectRelative(dom, dom.document, LINK_SELECTORS, true)) {
      if (hrefs.length >= MAX_CANDIDATES_PER_RULE) break;
      add(link, 'href');
    }
    return hrefs;
  }
  const parsed = parseSelector(rule.selector);
  const selected = selectRelative(dom, dom.document, parsed.parts, true);
  for (const element of selected) {
    if (hrefs.length >= MAX_CANDIDATES_PER_RULE) break;
    if (parsed.pseudo.kind === 'attr') {
      add(element, parsed.pseudo.name);
      continue;
    }
    // An element selector names link elements (their href) or regions whose
    // links are taken, like Scrapy's restrict_css.
    const tag = dom.tagName(element);
    if (tag === 'a' || tag === 'area') add(element, 'href');
    for (const link of selectRelative(dom, element, LINK_SELECTORS, false)) add(link, 'href');
  }
  return hrefs;
}

/**
 * The links to follow from a page: for each applicable follow rule, its
 * candidates resolved against the page (and <base href>), filtered by the rule;
 * deduplicated by urlKey in first-seen order, at most MAX_LINKS_PER_PAGE.
 */
export function extractLinks<N>(dom: DomAdapter<N>, spec: Spec, pageUrl: string, depth: number, baseHref: string | null): string[] {
  const rules = followRulesFor(spec, pageUrl);
  const links: string[] = [];
  if (rules.length === 0) return links;
  const seen = new Set<string>();
  const resolve = linkResolver(pageUrl, baseHref);
  for (const rule of rules) {
    const inScope = scopeFrom(rule.scope, pageUrl);
    for (const href of candidateHrefs(dom, rule)) {
      const url = resolve(href);
      if (url === null) continue;
      const key = urlKey(url);
      if (seen.has(key)) continue;
      if (!ruleAllows(spec, rule, inScope, url, depth)) continue;
      seen.add(key);
      links.push(url);
      if (links.length >= MAX_LINKS_PER_PAGE) return links;
    }
  }
  return links;
}
