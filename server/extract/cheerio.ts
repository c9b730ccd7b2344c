// The extraction engine's DOM adapter for Node: parse5 (the parser cheerio uses) builds
// the same tree a browser's DOMParser does, then a few fix-ups make that tree and
// css-select behave like the browser's:
// - <template> content is not part of the tree (browsers keep it in .content);
// - SVG/MathML element and attribute names are lower-cased, because browsers
//   match them case-insensitively in HTML documents (`foreignobject`,
//   `[viewbox]`) while css-select compares them as written; namespaced
//   attributes keep their qualified name; CDATA in integration points is text;
// - scripting is off, as in DOMParser documents, so <noscript> holds elements;
// - quirks-mode documents match class and id selectors case-insensitively;
// - the pseudo-classes whose css-select definitions differ from the browsers'
//   are redefined to what Chromium does (browser-pseudos.ts).
//
// Selectors run on css-select directly rather than through cheerio's find():
// find() treats a selector that starts with :scope as "the context or below"
// (jQuery's flexible descendant), so `:scope div span` would take the context
// itself for the div, where querySelectorAll needs a div inside it.
// parse5 with the htmlparser2 tree, as cheerio's load() parses: the same tree
// without cheerio's entry point, which loads a second copy of undici (for its
// fromURL) into every process that extracts (~20 MB of a Node worker's RSS).
import { parse as parse5Parse } from 'parse5';
import { adapter as htmlparser2Adapter } from 'parse5-htmlparser2-tree-adapter';
import { compile, selectAll } from 'css-select';
import { parse, SelectorType, stringify, type Selector } from 'css-what';
import { Text, type AnyNode, type ChildNode, type Element } from 'domhandler';
import type { Spec } from '../../shared/spec/schema.ts';
import { extract, type ExtractOptions, type ExtractResult } from '../../shared/extract/engine.ts';
import { NodeKind, type DomAdapter } from '../../shared/extract/dom.ts';
import { BROWSER_PSEUDO_CLASSES } from './browser-pseudos.ts';

const HTML_NAMESPACE = 'http://www.w3.org/1999/xhtml';
/** What :scope becomes, so that a compiled selector can be reused for every context. */
const SCOPE_PSEUDO = 'crowdcrawl-scope';

function isElement(node: AnyNode): node is Element {
  return node.type === 'tag' || node.type === 'script' || node.type === 'style';
}

/** SVG and MathML elements where an HTML parser switches back to HTML rules. */
const INTEGRATION_POINTS = new Set(['foreignobject', 'desc', 'title', 'mi', 'mo', 'mn', 'ms', 'mtext', 'annotation-xml']);
const CDATA_AS_BOGUS_COMMENT = /^\[CDATA\[([^]*)\]\]$/;

/**
 * An SVG/MathML element as the browser has it: names lower-cased for matching,
 * namespaced attributes under their qualified name (`xlink:href`, not `href`,
 * which parse5's tree adapter uses), and CDATA sections directly inside an
 * integration point (<desc>, <mi>...) as text, as browsers parse them (parse5
 * makes them bogus comments there).
 */
function alignForeignElement(element: Element): void {
  element.name = element.name.toLowerCase();
  const prefixes = element['x-attribsPrefix'] ?? {};
  const attribs: Record<string, string> = {};
  for (const [name, value] of Object.entries(element.attribs)) {
    const prefix = prefixes[name];
    const qualified = (prefix ? `${prefix}:${name}` : name).toLowerCase();
    if (!Object.hasOwn(attribs, qualified)) attribs[qualified] = value;
  }
  element.attribs = attribs;
  if (!INTEGRATION_POINTS.has(element.name)) return;
  let changed = false;
  const children = element.children.map((child) => {
    const cdata = child.type === 'comment' ? CDATA_AS_BOGUS_COMMENT.exec(child.data) : null;
    if (!cdata) return child;
    changed = true;
    return new Text(cdata[1]!);
  });
  if (!changed) return;
  // Browsers insert CDATA text into the text node before it, if any: merge runs of text.
  const merged: ChildNode[] = [];
  for (const child of children) {
    const previous = merged.at(-1);
    if (child.type === 'text' && previous?.type === 'text') (previous as Text).data += (child as Text).data;
    else if (!(child.type === 'text' && (child as Text).data === '')) merged.push(child);
  }
  merged.forEach((child, i) => {
    child.parent = element;
    child.prev = merged[i - 1] ?? null;
    child.next = merged[i + 1] ?? null;
  });
  element.children = merged;
}

/** Makes the parse5 tree look like the browser's (see the file comment). */
function alignWithBrowserTree(root: AnyNode): void {
  const stack: AnyNode[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (!('children' in node)) continue;
    if (isElement(node)) {
      if (node.name === 'template' && node.namespace === HTML_NAMESPACE) {
        for (const child of node.children) child.parent = null;
        node.children = [];
        continue;
      }
      if (node.namespace !== HTML_NAMESPACE) alignForeignElement(node);
    }
    for (const child of node.children) stack.push(child);
  }
}

export interface ParsedDocument {
  readonly root: AnyNode;
  /** Quirks mode (no or a legacy doctype): class and id selectors ignore case. */
  readonly quirks: boolean;
}

/** Parses HTML as a browser's DOMParser does (scripting disabled), tree aligned with the browser's. */
export function parseHtml(html: string): ParsedDocument {
  const root: AnyNode = parse5Parse(html, { treeAdapter: htmlparser2Adapter, scriptingEnabled: false });
  alignWithBrowserTree(root);
  return { root, quirks: (root as { 'x-mode'?: string })['x-mode'] === 'quirks' };
}

// The element :scope stands for in the query running now (selection is synchronous).
let currentScope: AnyNode | null = null;
const selectOptions = (quirksMode: boolean) => ({
  xmlMode: false,
  quirksMode,
  relativeSelector: false,
  // css-select caches, per compiled query, the ancestors that failed a
  // descendant test; with :scope moving between calls that cache would be wrong.
  cacheResults: false,
  pseudos: { ...BROWSER_PSEUDO_CLASSES, [SCOPE_PSEUDO]: (element: Element) => element === currentScope },
});
const OPTIONS = { standards: selectOptions(false), quirks: selectOptions(true) };

function renameScope(tokens: Selector[]): Selector[] {
  return tokens.map((t): Selector => {
    if (t.type !== SelectorType.Pseudo) return t;
    if (t.name === 'scope') return { ...t, name: SCOPE_PSEUDO };
    return Array.isArray(t.data) ? { ...t, data: t.data.map(renameScope) } : t;
  });
}

const compiledCache = new Map<string, ReturnType<typeof compile<AnyNode, Element>>>();

function compiled(selectorList: string, quirks: boolean): ReturnType<typeof compile<AnyNode, Element>> {
  const key = `${quirks ? 'q' : 's'}${selectorList}`;
  let query = compiledCache.get(key);
  if (!query) {
    const renamed = stringify(parse(selectorList).map(renameScope));
    query = compile<AnyNode, Element>(renamed, quirks ? OPTIONS.quirks : OPTIONS.standards);
    if (compiledCache.size > 5000) compiledCache.clear();
    compiledCache.set(key, query);
  }
  return query;
}

/** The engine's view of a parsed document. */
export function cheerioAdapter(document: ParsedDocument): DomAdapter<AnyNode> {
  return {
    document: document.root,
    select: (context, selectorList) => {
      const query = compiled(selectorList, document.quirks);
      currentScope = context;
      try {
        return selectAll<AnyNode, Element>(query, context);
      } finally {
        currentScope = null;
      }
    },
    matches: (element, selectorList) => {
      const query = compiled(selectorList, document.quirks);
      currentScope = element;
      try {
        return isElement(element) && query(element);
      } finally {
        currentScope = null;
      }
    },
    childNodes: (node) => ('children' in node ? node.children : []),
    kind: (node) => (node.type === 'text' ? NodeKind.Text : isElement(node) ? NodeKind.Element : NodeKind.Other),
    tagName: (element) => (isElement(element) ? element.name.toLowerCase() : ''),
    getAttribute: (element, name) =>
      isElement(element) && Object.hasOwn(element.attribs, name) ? element.attribs[name]! : null,
    textData: (node) => (node.type === 'text' ? node.data : ''),
    contains: (ancestor, node) => {
      for (let at: AnyNode | null = node; at !== null; at = at.parent) if (at === ancestor) return true;
      return false;
    },
  };
}

/** Parses `html` and extracts with `spec`, as a Node worker does. */
export function extractHtml(html: string, spec: Spec, pageUrl: string, options: ExtractOptions = {}): ExtractResult {
  return extract(cheerioAdapter(parseHtml(html)), spec, pageUrl, options);
}
