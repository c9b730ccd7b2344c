// The extraction engine's DOM adapter for browsers: DOMParser's document (parsed
// with scripting disabled, <template> content outside the tree) and the native
// querySelectorAll, given selectors already rewritten by scopedSelectorList so
// they mean the same as in Node.
import type { Spec } from '../../shared/spec/schema.ts';
import { extract, type ExtractOptions, type ExtractResult } from '../../shared/extract/engine.ts';
import { NodeKind, type DomAdapter } from '../../shared/extract/dom.ts';

const HTML_NAMESPACE = 'http://www.w3.org/1999/xhtml';
const ELEMENT_NODE = 1;
const TEXT_NODE = 3;

export function parseHtml(html: string): Document {
  return new DOMParser().parseFromString(html, 'text/html');
}

function attributeOf(element: Element, name: string): string | null {
  // HTML elements: getAttribute lower-cases the name and the parser lower-cased
  // every attribute. SVG/MathML keep camelCase (viewBox), matched case-insensitively.
  if (element.namespaceURI === HTML_NAMESPACE) return element.getAttribute(name);
  for (const attribute of Array.from(element.attributes)) {
    if (attribute.name.toLowerCase() === name) return attribute.value;
  }
  return null;
}

/** The engine's view of a DOMParser document. */
export function domParserAdapter(document: Document): DomAdapter<Node> {
  return {
    document,
    select: (context, selectorList) => {
      // An indexed copy: Array.from walks a NodeList through its iterator, several times slower.
      const found = (context as Document | Element).querySelectorAll(selectorList);
      const elements = new Array<Node>(found.length);
      for (let i = 0; i < elements.length; i++) elements[i] = found[i]!;
      return elements;
    },
    matches: (element, selectorList) => (element as Element).matches(selectorList),
    childNodes: (node) => node.childNodes,
    kind: (node) => (node.nodeType === TEXT_NODE ? NodeKind.Text : node.nodeType === ELEMENT_NODE ? NodeKind.Element : NodeKind.Other),
    tagName: (element) => (element as Element).localName.toLowerCase(),
    getAttribute: (element, name) => attributeOf(element as Element, name),
    textData: (node) => (node as Text).data,
    contains: (ancestor, node) => ancestor.contains(node),
  };
}

/** Parses `html` with DOMParser and extracts with `spec`, as a volunteer's browser tab does. */
export function extractHtml(html: string, spec: Spec, pageUrl: string, options: ExtractOptions = {}): ExtractResult {
  return extract(domParserAdapter(parseHtml(html)), spec, pageUrl, options);
}
