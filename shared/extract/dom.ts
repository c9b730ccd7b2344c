// The small view of a parsed HTML document that the extraction engine is written
// against. The browser (DOMParser) and Node (cheerio/parse5) each implement it, and
// the engine computes every value itself by walking nodes through it, so both
// sides give the same output: nothing depends on textContent, innerText or the
// quirks of either library's helpers.
//
// CSS selection is the one thing the adapters do natively (querySelectorAll,
// css-select). To make the two agree on what a selector means relative to its
// context, `scopedSelectorList` rewrites the selector once, here, and both
// adapters run the rewritten text.
import { parse, SelectorType, stringify, type Selector } from 'css-what';

/** What the engine needs to know about a node. */
export const NodeKind = { Element: 1, Text: 3, Other: 0 } as const;
export type NodeKind = (typeof NodeKind)[keyof typeof NodeKind];

export interface DomAdapter<N> {
  /** The document node (the context of item and follow selectors). */
  readonly document: N;
  /**
   * The elements under `context` (a descendant of it; never `context` itself)
   * that match `selectorList`, in document order, without duplicates.
   * `selectorList` is always the output of `scopedSelectorList` (never '': the
   * engine selects nothing without asking).
   */
  select(context: N, selectorList: string): readonly N[];
  /** Whether `element` matches `selectorList` (where `:scope` is the element itself). */
  matches(element: N, selectorList: string): boolean;
  /** Child nodes in document order. A <template> has none (its content is not part of the tree). */
  childNodes(node: N): ArrayLike<N>;
  kind(node: N): NodeKind;
  /** Lower-case local name of an element ("a", "foreignobject"). */
  tagName(element: N): string;
  /** An attribute's value, its name matched ASCII case-insensitively (so "viewbox" finds SVG's viewBox); null when absent. */
  getAttribute(element: N, lowerCaseName: string): string | null;
  /** A text node's data. */
  textData(text: N): string;
  /** Whether `node` is `ancestor` or inside it (DOM's Node.contains). */
  contains(ancestor: N, node: N): boolean;
}

const TRAVERSALS = new Set(['child', 'parent', 'sibling', 'adjacent', 'descendant', 'column-combinator']);
const SCOPE: Selector = { type: SelectorType.Pseudo, name: 'scope', data: null };
const ROOT: Selector = { type: SelectorType.Pseudo, name: 'root', data: null };
const DESCENDANT: Selector = { type: SelectorType.Descendant };

function mentionsScope(tokens: readonly Selector[]): boolean {
  return tokens.some(
    (t) => t.type === 'pseudo' && (t.name === 'scope' || (Array.isArray(t.data) && t.data.some(mentionsScope))),
  );
}

/** :scope → :root, at any nesting depth (inside :is(), :not(), :has()...). */
function scopeToRoot(tokens: readonly Selector[]): Selector[] {
  return tokens.map((t): Selector => {
    if (t.type !== 'pseudo') return t;
    if (t.name === 'scope') return ROOT;
    if (Array.isArray(t.data)) return { ...t, data: t.data.map(scopeToRoot) };
    return t;
  });
}

const cache = new Map<string, string>();

/**
 * Rewrites the parts of a parsed selector (`ParsedSelector.parts`) so that the
 * browser's querySelectorAll and css-select give the same elements:
 *
 * - relative to an element (`forDocument` false): the whole selector must match
 *   inside the context, as css-select's relative selectors and parsel's
 *   relative queries do: `div span` becomes `:scope div span`, so a `div`
 *   outside the context does not count (a browser's plain
 *   `el.querySelectorAll('div span')` would let it). `> li` becomes
 *   `:scope > li`. A part that already names `:scope` is kept as written.
 * - relative to the document: parts are kept, `:scope` means the root element
 *   (as in `document.querySelectorAll`), a leading `>` means a child of the
 *   document (`> html > body` is `html:root > body`), and a part that starts
 *   with `+` or `~` matches nothing (the document has no siblings).
 *
 * Returns '' when no part can match anything.
 */
export function scopedSelectorList(parts: readonly string[], forDocument: boolean): string {
  const key = `${forDocument ? 'd' : 'e'}\u0000${parts.join('\u0000')}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const out: Selector[][] = [];
  for (const part of parts) {
    for (const tokens of parse(part)) {
      const first = tokens[0];
      const leadingCombinator = first !== undefined && TRAVERSALS.has(first.type) && first.type !== 'descendant';
      if (forDocument) {
        const rooted = scopeToRoot(tokens);
        if (!leadingCombinator) {
          out.push(rooted);
        } else if (first?.type === SelectorType.Child) {
          // `> html > body`: the document's element child is the root element.
          const rest = rooted.slice(1);
          const end = rest.findIndex((t) => TRAVERSALS.has(t.type));
          const compoundEnd = end === -1 ? rest.length : end;
          out.push([...rest.slice(0, compoundEnd), ROOT, ...rest.slice(compoundEnd)]);
        }
        // `+ x` and `~ x`: the document has no siblings; the part matches nothing.
      } else if (leadingCombinator) {
        out.push([SCOPE, ...tokens]);
      } else if (mentionsScope(tokens)) {
        out.push([...tokens]);
      } else {
        out.push([SCOPE, DESCENDANT, ...tokens]);
      }
    }
  }
  const result = out.length === 0 ? '' : stringify(out);
  if (cache.size > 5000) cache.clear();
  cache.set(key, result);
  return result;
}

/** The elements `parts` select relative to `context` (the document when `forDocument`). */
export function selectRelative<N>(dom: DomAdapter<N>, context: N, parts: readonly string[], forDocument: boolean): readonly N[] {
  const list = scopedSelectorList(parts, forDocument);
  return list === '' ? [] : dom.select(context, list);
}

const fieldCache = new Map<string, { under: string; self: string }>();

/**
 * parsel's relative query, in CSS both engines run: parsel prefixes a selector
 * with `descendant-or-self::`, so its first compound may be the context element
 * itself (`div h2` on a `div` root finds the root's `h2`; `div::text` on that
 * root reads the root). Each part becomes `:scope A B` (A inside the context)
 * and `A:scope B` (A the context); a one-compound part also matches the
 * context itself, which `select` never returns: `self` is the list to test it
 * with. Parts that start with a combinator (`> li`, our extension) or name
 * `:scope` are kept as `scopedSelectorList` has them.
 */
export function rootedSelectorLists(parts: readonly string[]): { under: string; self: string } {
  const key = parts.join('\u0000');
  const hit = fieldCache.get(key);
  if (hit !== undefined) return hit;
  const under: Selector[][] = [];
  const self: Selector[][] = [];
  for (const part of parts) {
    for (const tokens of parse(part)) {
      const first = tokens[0];
      const leadingCombinator = first !== undefined && TRAVERSALS.has(first.type) && first.type !== 'descendant';
      const traversal = tokens.findIndex((t) => TRAVERSALS.has(t.type));
      if (leadingCombinator) {
        under.push([SCOPE, ...tokens]);
      } else if (mentionsScope(tokens)) {
        under.push([...tokens]);
        if (traversal === -1) self.push([...tokens]);
      } else if (traversal === -1) {
        under.push([SCOPE, DESCENDANT, ...tokens]);
        self.push([...tokens]);
      } else {
        under.push([SCOPE, DESCENDANT, ...tokens]);
        under.push([...tokens.slice(0, traversal), SCOPE, ...tokens.slice(traversal)]);
      }
    }
  }
  const result = { under: under.length === 0 ? '' : stringify(under), self: self.length === 0 ? '' : stringify(self) };
  if (fieldCache.size > 5000) fieldCache.clear();
  fieldCache.set(key, result);
  return result;
}

/** The elements `parts` select from an item root as parsel does: the root itself (first) when it matches, then its descendants, in document order. */
export function selectFromRoot<N>(dom: DomAdapter<N>, root: N, parts: readonly string[]): readonly N[] {
  if (parts.length === 0) return [];
  const { under, self } = rootedSelectorLists(parts);
  const selected = under === '' ? [] : dom.select(root, under);
  return self !== '' && dom.matches(root, self) ? [root, ...selected] : selected;
}
