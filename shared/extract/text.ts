// Text of nodes, computed by walking the tree through the adapter so the browser
// and Node give the same strings (same nodes, same order, same cut-off).
import { NodeKind, type DomAdapter } from './dom.ts';
import { MAX_VALUE_CHARS, MAX_VALUES_PER_FIELD } from './limits.ts';

/** Cuts a string to `maxChars`, one code unit shorter when the cut would split a surrogate pair. */
export function cutToLength(text: string, maxChars: number = MAX_VALUE_CHARS): string {
  if (text.length <= maxChars) return text;
  const last = text.charCodeAt(maxChars - 1);
  const end = last >= 0xd800 && last <= 0xdbff ? maxChars - 1 : maxChars;
  return text.slice(0, end);
}

/**
 * All descendant text of an element, in document order, concatenated (like DOM
 * textContent: script and style text count, comments do not; <template> content
 * is not part of the tree). Stops reading once the value cap is reached.
 */
export function textContent<N>(dom: DomAdapter<N>, element: N): string {
  const pieces: string[] = [];
  let length = 0;
  // Iterative walk: hostile pages can nest thousands of elements deep.
  const stack: { nodes: ArrayLike<N>; index: number }[] = [{ nodes: dom.childNodes(element), index: 0 }];
  while (stack.length > 0 && length <= MAX_VALUE_CHARS) {
    const frame = stack[stack.length - 1]!;
    if (frame.index >= frame.nodes.length) {
      stack.pop();
      continue;
    }
    const node = frame.nodes[frame.index++]!;
    const kind = dom.kind(node);
    if (kind === NodeKind.Text) {
      const data = dom.textData(node);
      pieces.push(data);
      length += data.length;
    } else if (kind === NodeKind.Element) {
      stack.push({ nodes: dom.childNodes(node), index: 0 });
    }
  }
  return cutToLength(pieces.join(''));
}

function ownText<N>(dom: DomAdapter<N>, element: N, out: string[]): void {
  const children = dom.childNodes(element);
  for (let i = 0; i < children.length && out.length < MAX_VALUES_PER_FIELD; i++) {
    const child = children[i]!;
    if (dom.kind(child) === NodeKind.Text) out.push(cutToLength(dom.textData(child)));
  }
}

/**
 * Pre-order walk of `within`'s subtree: the text children of the nodes whose
 * text is taken, at their place among the others. A node's text is taken when
 * it is inside a deep element (or is one) or is an own element; the flags say
 * so for `within` itself.
 */
function walkText<N>(
  dom: DomAdapter<N>,
  within: N,
  start: { take: boolean; inDeep: boolean },
  isOwn: (node: N) => boolean,
  isDeep: (node: N) => boolean,
  out: string[],
): void {
  const stack: { take: boolean; inDeep: boolean; nodes: ArrayLike<N>; index: number }[] = [{ ...start, nodes: dom.childNodes(within), index: 0 }];
  while (stack.length > 0 && out.length < MAX_VALUES_PER_FIELD) {
    const frame = stack[stack.length - 1]!;
    if (frame.index >= frame.nodes.length) {
      stack.pop();
      continue;
    }
    const node = frame.nodes[frame.index++]!;
    const kind = dom.kind(node);
    if (kind === NodeKind.Text) {
      if (frame.take) out.push(cutToLength(dom.textData(node)));
    } else if (kind === NodeKind.Element) {
      const inDeep = frame.inDeep || isDeep(node);
      stack.push({ take: inDeep || isOwn(node), inDeep, nodes: dom.childNodes(node), index: 0 });
    }
  }
}

const NEVER = (): boolean => false;
const EVERYTHING = { take: true, inDeep: true };

/**
 * Whether no element of `elements` (distinct, in document order) is inside
 * another. A subtree is contiguous in document order, so when an element
 * holds a later one it holds the next one: comparing neighbours is enough.
 */
function noneNested<N>(dom: DomAdapter<N>, elements: readonly N[]): boolean {
  for (let i = 1; i < elements.length; i++) if (dom.contains(elements[i - 1]!, elements[i]!)) return false;
  return true;
}

/**
 * parsel's `::text` over selected elements, in the document order of the text
 * nodes, as XPath's union gives them, not grouped per element: with `div` and
 * its child `b` selected in `<div>a<b>b</b>c</div>`, the result is a, b, c.
 * `own` elements give their text-node children (`sel::text`); `deep` elements
 * give every text node under them, their own included (`sel ::text`,
 * `sel *::text`). A text node under both counts once. `own` and `deep` are each
 * in document order, without duplicates; `within` is a node that contains
 * every selected element (or is one).
 */
export function textNodesInDocumentOrder<N>(dom: DomAdapter<N>, own: readonly N[], deep: readonly N[], within: N): string[] {
  const out: string[] = [];
  if (own.length === 0 && deep.length === 0) return out;
  // The common cases (`h2::text`, `li ::text`): elements of one kind, none
  // inside another, give their text one after the other, which is document
  // order; only their own subtrees are read, not all of `within`.
  if (deep.length === 0 && noneNested(dom, own)) {
    for (let i = 0; i < own.length && out.length < MAX_VALUES_PER_FIELD; i++) ownText(dom, own[i]!, out);
    return out;
  }
  if (own.length === 0 && noneNested(dom, deep)) {
    for (let i = 0; i < deep.length && out.length < MAX_VALUES_PER_FIELD; i++) walkText(dom, deep[i]!, EVERYTHING, NEVER, NEVER, out);
    return out;
  }
  const ownSet = new Set(own);
  const deepSet = new Set(deep);
  const start = { take: ownSet.has(within) || deepSet.has(within), inDeep: deepSet.has(within) };
  walkText(dom, within, start, (node) => ownSet.has(node), (node) => deepSet.has(node), out);
  return out;
}
