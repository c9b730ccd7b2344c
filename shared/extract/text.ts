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
 * The text-node children of `elements` (parsel's `::text`), in the document order
 * of the text nodes, as XPath's union does, not grouped per element: with `div`
 * and its child `b` selected in `<div>a<b>b</b>c</div>`, the result is a, b, c.
 * `within` is a node that contains every element of `elements` (or is one).
 */
export function ownTextInDocumentOrder<N>(dom: DomAdapter<N>, elements: readonly N[], within: N): string[] {
  const out: string[] = [];
  if (elements.length === 0) return out;
  if (elements.length === 1) {
    ownText(dom, elements[0]!, out);
    return out;
  }
  const selected = new Set(elements);
  // Pre-order walk of `within`: when a selected element's children are visited,
  // its text children come out at their place among the others.
  const stack: { parentSelected: boolean; nodes: ArrayLike<N>; index: number }[] = [
    { parentSelected: selected.has(within), nodes: dom.childNodes(within), index: 0 },
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
      if (frame.parentSelected) out.push(cutToLength(dom.textData(node)));
    } else if (kind === NodeKind.Element) {
      stack.push({ parentSelected: selected.has(node), nodes: dom.childNodes(node), index: 0 });
    }
  }
  return out;
}
