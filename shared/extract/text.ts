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
 * parsel's `::text` over selected elements, in the document order of the text
 * nodes, as XPath's union gives them, not grouped per element: with `div` and
 * its child `b` selected in `<div>a<b>b</b>c</div>`, the result is a, b, c.
 * `own` elements give their text-node children (`sel::text`); `deep` elements
 * give every text node under them, their own included (`sel ::text`,
 * `sel *::text`). A text node under both counts once. `within` is a node that
 * contains every selected element (or is one).
 */
export function textNodesInDocumentOrder<N>(dom: DomAdapter<N>, own: readonly N[], deep: readonly N[], within: N): string[] {
  const out: string[] = [];
  if (own.length === 0 && deep.length === 0) return out;
  if (own.length === 1 && deep.length === 0) {
    ownText(dom, own[0]!, out);
    return out;
  }
  const ownSet = new Set(own);
  const deepSet = new Set(deep);
  // Pre-order walk of `within`: when a selected element's children are visited,
  // its text children come out at their place among the others.
  const stack: { take: boolean; inDeep: boolean; nodes: ArrayLike<N>; index: number }[] = [
    { take: ownSet.has(within) || deepSet.has(within), inDeep: deepSet.has(within), nodes: dom.childNodes(within), index: 0 },
  ];
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
      const inDeep = frame.inDeep || deepSet.has(node);
      stack.push({ take: inDeep || ownSet.has(node), inDeep, nodes: dom.childNodes(node), index: 0 });
    }
  }
  return out;
}
