// The extraction engine: one implementation of a spec's item and follow rules,
// run by browsers (over DOMParser's document) and by Node (over cheerio's), so a
// page gives the same items and links wherever it is processed.
//
// Semantics (docs/extraction.md has examples):
// - Item rules apply in spec order, each only on pages whose URL matches one of
//   its urlPatterns (or when it has none). Every element its selector selects
//   (relative to the document) is one item, in document order.
// - Field selectors are relative to the item's root element, as parsel's are
//   (`descendant-or-self::`): the selector's first compound may be the root
//   itself or inside it, and what it selects is the root or inside it (`div h2`
//   on a `div` root finds the root's h2; `> li` means the root's children).
// - `sel::text`: the selected elements' own text-node children; `sel ::text`
//   and `sel *::text`: every text node under them, their own included (parsel's
//   `descendant-or-self::text()`); a bare `::text` is all the root's text. Text
//   nodes come in document order (XPath's union), not grouped per element.
//   `sel::attr(name)`: the attribute of each selected element that has it (a
//   bare `::attr(name)`: of the root and every element under it). No
//   pseudo-element: each element's text content (our choice; parsel gives its
//   HTML). White space is kept exactly; entities are decoded by the parser.
// - Processors run over all of a field's values in order (see processors.ts).
//   `all: false` gives the first value left, else `default`; `all: true` gives
//   the list, or `[default]` when empty and a default is set, else [].
// - Links: see links.ts. Limits: see limits.ts.
import type { FieldSpec, ItemRule, Spec } from '../spec/schema.ts';
import { matchesAny } from '../spec/patterns.ts';
import { parseSelector } from './selector.ts';
import { selectFromRoot, selectRelative, type DomAdapter } from './dom.ts';
import { cutToLength, textContent, textNodesInDocumentOrder } from './text.ts';
import { applyProcessors, type ProcessContext } from './processors.ts';
import { documentBaseHref, extractLinks } from './links.ts';
import { MAX_ITEMS_PER_PAGE, MAX_RESULT_CHARS, MAX_VALUES_PER_FIELD } from './limits.ts';

export * from './limits.ts';
export { isLinkFollowable } from './links.ts';
export type { DomAdapter } from './dom.ts';

export type FieldValue = string | string[] | null;

export interface ExtractedItem {
  /** The item rule's type. */
  type: string;
  data: Record<string, FieldValue>;
}

export interface ExtractResult {
  items: ExtractedItem[];
  /** Absolute, normalized URLs to follow, deduplicated, in first-seen order. */
  links: string[];
}

export interface ExtractOptions {
  /** The page's crawl depth (start URLs are 0); follow rules' maxDepth compare against depth + 1. */
  depth?: number;
}

/** The raw values a field's selector gives on an item root, before processors. */
export function selectValues<N>(dom: DomAdapter<N>, root: N, selector: string): string[] {
  const parsed = parseSelector(selector);
  const pseudo = parsed.pseudo;
  if (parsed.css === '' && pseudo.kind === 'element') return [textContent(dom, root)];
  // A bare `::text` or `::attr(x)` is `*::text` or `*::attr(x)` in parsel: the
  // root and everything under it.
  const parts = parsed.css === '' ? ['*'] : parsed.parts;
  if (pseudo.kind === 'text') {
    const own = parts.filter((_, i) => parsed.deepText[i] !== true);
    const deep = parts.filter((_, i) => parsed.deepText[i] === true);
    return textNodesInDocumentOrder(dom, selectFromRoot(dom, root, own), selectFromRoot(dom, root, deep), root);
  }
  const values: string[] = [];
  for (const element of selectFromRoot(dom, root, parts)) {
    if (values.length >= MAX_VALUES_PER_FIELD) break;
    if (pseudo.kind === 'attr') {
      const value = dom.getAttribute(element, pseudo.name);
      if (value !== null) values.push(cutToLength(value));
    } else {
      values.push(textContent(dom, element));
    }
  }
  return values;
}

function fieldValue<N>(dom: DomAdapter<N>, root: N, field: FieldSpec, context: ProcessContext): FieldValue {
  const values = applyProcessors(selectValues(dom, root, field.selector), field.process, context);
  if (!field.all) return values[0] ?? field.default;
  if (values.length === 0) return field.default === null ? [] : [field.default];
  return values.length > MAX_VALUES_PER_FIELD ? values.slice(0, MAX_VALUES_PER_FIELD) : values;
}

function valueChars(value: FieldValue): number {
  if (value === null) return 0;
  if (typeof value === 'string') return value.length;
  let total = 0;
  for (const v of value) total += v.length;
  return total;
}

function ruleApplies(rule: ItemRule, pageUrl: string): boolean {
  return rule.urlPatterns.length === 0 || matchesAny(rule.urlPatterns, pageUrl);
}

/**
 * Extracts a page's items and the links to follow. `dom` is the parsed page;
 * `pageUrl` its final URL (after redirects), used for urlPatterns, link
 * resolution and scope. Never throws for any page content.
 */
export function extract<N>(dom: DomAdapter<N>, spec: Spec, pageUrl: string, options: ExtractOptions = {}): ExtractResult {
  const baseHref = documentBaseHref(dom);
  const context: ProcessContext = { pageUrl, baseHref };
  const items: ExtractedItem[] = [];
  let resultChars = 0;
  let budgetSpent = false;
  for (const rule of spec.items) {
    if (budgetSpent || items.length >= MAX_ITEMS_PER_PAGE) break;
    if (!ruleApplies(rule, pageUrl)) continue;
    const roots = selectRelative(dom, dom.document, parseSelector(rule.selector).parts, true);
    const fields = Object.entries(rule.fields);
    for (const root of roots) {
      if (items.length >= MAX_ITEMS_PER_PAGE) break;
      const data: Record<string, FieldValue> = {};
      let itemChars = 0;
      for (const [name, field] of fields) {
        const value = fieldValue(dom, root, field, context);
        data[name] = value;
        itemChars += valueChars(value);
      }
      if (resultChars + itemChars > MAX_RESULT_CHARS) {
        budgetSpent = true;
        break;
      }
      resultChars += itemChars;
      items.push({ type: rule.type, data });
    }
  }
  const links = extractLinks(dom, spec, pageUrl, options.depth ?? 0, baseHref);
  return { items, links };
}
