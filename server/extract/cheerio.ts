// The extraction engine's DOM adapter for Node: parse5 (through cheerio) builds
// the same tree a browser's DOMParser does, then a few fix-ups make cheerio's
// tree and selector engine (css-select) behave like the browser's:
// - <template> content is not part of the tree (browsers keep it in .content);
// - SVG/MathML element and attribute names are lower-cased, because browsers
//   match them case-insensitively in HTML documents (`foreignobject`,
//   `[viewbox]`) while css-select compares them as written;
// - scripting is off, as in DOMParser documents, so <noscript> holds elements;
// - the pseudo-classes whose css-select definitions differ from the browsers'
//   are redefined to what Chromium does.
import { load, type CheerioAPI } from 'cheerio';
import type { AnyNode, Element } from 'domhandler';
import type { Spec } from '../../shared/spec/schema.ts';
import { extract, type ExtractOptions, type ExtractResult } from '../../shared/extract/engine.ts';
import { NodeKind, type DomAdapter } from '../../shared/extract/dom.ts';

const HTML_NAMESPACE = 'http://www.w3.org/1999/xhtml';

/** Pseudo-classes as browsers define them (css-select's aliases differ in small ways). */
export const BROWSER_PSEUDO_CLASSES: Record<string, string> = {
  // Browsers: only <a> and <area> with href are links (css-select adds <link>).
  'any-link': ':is(a, area)[href]',
  link: ':is(a, area)[href]',
  // Only form controls are enabled or disabled (css-select: :enabled is every element that is not :disabled).
  disabled: [
    ':is(button, input, select, textarea, optgroup, option, fieldset)[disabled]',
    'optgroup[disabled] > option',
    'fieldset[disabled] :is(button, input, select, textarea, fieldset):not(fieldset[disabled] > legend:first-of-type *)',
  ].join(', '),
  enabled: ':is(button, input, select, textarea, optgroup, option, fieldset):not(:disabled)',
};

function isElement(node: AnyNode): node is Element {
  return node.type === 'tag' || node.type === 'script' || node.type === 'style';
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
      if (node.namespace !== HTML_NAMESPACE) {
        node.name = node.name.toLowerCase();
        const attribs: Record<string, string> = {};
        for (const [name, value] of Object.entries(node.attribs)) {
          const lower = name.toLowerCase();
          if (!Object.hasOwn(attribs, lower)) attribs[lower] = value;
        }
        node.attribs = attribs;
      }
    }
    for (const child of node.children) stack.push(child);
  }
}

/** Parses HTML as a browser's DOMParser does (scripting disabled). */
export function parseHtml(html: string): CheerioAPI {
  const $ = load(html, { scriptingEnabled: false, pseudos: BROWSER_PSEUDO_CLASSES });
  alignWithBrowserTree($.root()[0]!);
  return $;
}

/** The engine's view of a cheerio document. */
export function cheerioAdapter($: CheerioAPI): DomAdapter<AnyNode> {
  return {
    document: $.root()[0]!,
    select: (context, selectorList) => $(context).find(selectorList).toArray(),
    childNodes: (node) => ('children' in node ? node.children : []),
    kind: (node) => (node.type === 'text' ? NodeKind.Text : isElement(node) ? NodeKind.Element : NodeKind.Other),
    tagName: (element) => (isElement(element) ? element.name.toLowerCase() : ''),
    getAttribute: (element, name) =>
      isElement(element) && Object.hasOwn(element.attribs, name) ? element.attribs[name]! : null,
    textData: (node) => (node.type === 'text' ? node.data : ''),
  };
}

/** Parses `html` and extracts with `spec`, as a Node worker does. */
export function extractHtml(html: string, spec: Spec, pageUrl: string, options: ExtractOptions = {}): ExtractResult {
  return extract(cheerioAdapter(parseHtml(html)), spec, pageUrl, options);
}
