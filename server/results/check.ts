// What a worker sends back is checked against the crawl's spec before anything
// is stored: item types and fields the spec defines; links that are http(s),
// canonical, deduplicated and allowed by its follow rules and depth limit.
import { RESULT_LIMITS } from '../../shared/protocol.ts';
import { normalizeUrl, urlKey } from '../../shared/url/canonical.ts';
import { followCheck } from '../../shared/extract/links.ts';
import type { ItemData, NewRequest } from '../storage/storage.ts';
import type { FetchRecord } from '../lease/leases.ts';
import type { Crawl } from '../crawl/crawl.ts';
import type { FrontierEntry } from '../frontier/frontier.ts';

/** What a result is checked for: a leased page, or a page under validation. */
export interface ResultTarget {
  readonly crawl: Crawl;
  readonly entry: FrontierEntry;
  readonly fetched: FetchRecord | undefined;
  /** The spec version the page was leased (and extracted) under. */
  readonly specVersion: number;
}

export interface ValidResult {
  items: ItemData[];
  /** Links to queue, checked and canonical, with the dedup key, host and depth worked out once. */
  links: NewRequest[];
}

/** What a reported link string canonicalizes to: null when it is not a URL we fetch. */
interface LinkFacts {
  readonly url: string;
  readonly key: string;
  readonly host: string;
}

/**
 * Link strings seen lately and their canonical form, dedup key and host: pure
 * functions of the string, worth about five URL parses a link, and the same
 * links (navigation, sidebars) come back on page after page. Bounded: emptied
 * when full, so a crawl of distinct links costs what it did without it.
 */
const linkFacts = new Map<string, LinkFacts | null>();
const LINK_FACTS_KEPT = 4096;

function factsOf(link: string): LinkFacts | null {
  let facts = linkFacts.get(link);
  if (facts !== undefined) return facts;
  const url = normalizeUrl(link);
  facts = !url || url.length > RESULT_LIMITS.maxUrlLength ? null : { url, key: urlKey(url), host: new URL(url).host };
  if (linkFacts.size >= LINK_FACTS_KEPT) linkFacts.clear();
  linkFacts.set(link, facts);
  return facts;
}

/** Returns an error message, or the result with disallowed links dropped. */
export function checkResult(record: ResultTarget, items: ItemData[], links: readonly string[]): ValidResult | string {
  const version = record.crawl.specFor(record.specVersion);
  if (!version) return `spec version ${record.specVersion} is not known to this hub`;
  const spec = version.spec;
  for (const [i, item] of items.entries()) {
    const fields = version.itemFields.get(item.type);
    if (!fields) return `items[${i}].type: the spec has no item type "${item.type}"`;
    for (const [name, value] of Object.entries(item.data)) {
      const all = fields.get(name);
      if (all === undefined) return `items[${i}].data.${name}: not a field of item type "${item.type}"`;
      // The engine gives a list exactly for `all` fields, a string or null for the others.
      if (Array.isArray(value) !== all) return `items[${i}].data.${name}: ${all ? 'a list' : 'one value (a string or null)'} expected`;
    }
  }
  const pageUrl = record.fetched?.finalUrl ?? record.entry.url;
  const maxDepth = spec.limits.maxDepth;
  const depth = record.entry.depth + 1;
  const kept: NewRequest[] = [];
  const seen = new Set<string>();
  if ((maxDepth === undefined || depth <= maxDepth) && links.length > 0) {
    const followable = followCheck(spec, pageUrl, record.entry.depth);
    for (const link of links) {
      const facts = factsOf(link);
      if (!facts || seen.has(facts.key)) continue;
      seen.add(facts.key);
      if (followable(facts.url)) kept.push({ url: facts.url, key: facts.key, host: facts.host, depth });
    }
  }
  return { items, links: kept };
}

/**
 * The links of a result to queue now: a page extracted under an older spec
 * version was checked against that version, but what it queues must also be
 * allowed by the crawl's current rules (a new version drops what they refuse).
 */
export function linksToQueue(record: ResultTarget, links: readonly NewRequest[]): readonly NewRequest[] {
  const crawl = record.crawl;
  if (record.specVersion === crawl.specVersion || links.length === 0) return links;
  const spec = crawl.spec;
  const pageUrl = record.fetched?.finalUrl ?? record.entry.url;
  const maxDepth = spec.limits.maxDepth;
  if (maxDepth !== undefined && record.entry.depth + 1 > maxDepth) return [];
  const followable = followCheck(spec, pageUrl, record.entry.depth);
  return links.filter((link) => followable(link.url));
}
