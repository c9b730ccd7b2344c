// Form-related pseudo-classes as Chromium evaluates them on a DOMParser document,
// for css-select (whose built-in aliases differ: its :enabled matches every
// element, its :link also matches <link>, its :checked ignores radio groups and
// the select element's selectedness rules, its :required ignores input types).
// The conformance suite checks each against the browser.
import type { AnyNode, Element } from 'domhandler';

const HTML_NAMESPACE = 'http://www.w3.org/1999/xhtml';

/** The node as an HTML element (named `name`, when given), else null. */
function htmlElement(node: AnyNode | null | undefined, name?: string): Element | null {
  if (!node || (node.type !== 'tag' && node.type !== 'script' && node.type !== 'style')) return null;
  const element = node as Element;
  return element.namespace === HTML_NAMESPACE && (name === undefined || element.name === name) ? element : null;
}

const has = (element: Element, attribute: string): boolean => Object.hasOwn(element.attribs, attribute);
const inputType = (element: Element): string => (element.attribs.type ?? '').toLowerCase();

function* descendants(root: AnyNode): Generator<Element> {
  const stack: AnyNode[] = 'children' in root ? [...root.children].reverse() : [];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const element = htmlElement(node);
    if (element) yield element;
    if ('children' in node) for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
  }
}

function treeRoot(node: AnyNode): AnyNode {
  let current = node;
  while (current.parent) current = current.parent;
  return current;
}

function formAncestor(element: Element): Element | null {
  for (let node = element.parent; node; node = node.parent) if (htmlElement(node, 'form')) return node as Element;
  return null;
}

/** A radio button is checked when it has `checked` and no later radio of its group has it (the parser unchecks the earlier ones). */
function isCheckedRadio(radio: Element): boolean {
  if (!has(radio, 'checked')) return false;
  const name = radio.attribs.name ?? '';
  if (name === '') return true;
  const form = formAncestor(radio);
  let seenSelf = false;
  for (const other of descendants(form ?? treeRoot(radio))) {
    if (other === radio) {
      seenSelf = true;
      continue;
    }
    if (!seenSelf || other.name !== 'input' || inputType(other) !== 'radio') continue;
    if ((other.attribs.name ?? '') === name && has(other, 'checked') && formAncestor(other) === form) return false;
  }
  return true;
}

function isDisabledOption(option: Element): boolean {
  const optgroup = htmlElement(option.parent, 'optgroup');
  return has(option, 'disabled') || (optgroup !== null && has(optgroup, 'disabled'));
}

/** The select an option belongs to: its parent, or its optgroup parent's parent. */
function ownerSelect(option: Element): Element | null {
  const select = htmlElement(option.parent, 'select');
  if (select) return select;
  const optgroup = htmlElement(option.parent, 'optgroup');
  return optgroup ? htmlElement(optgroup.parent, 'select') : null;
}

function listOfOptions(select: Element): Element[] {
  const options: Element[] = [];
  for (const child of select.children) {
    const option = htmlElement(child, 'option');
    const optgroup = htmlElement(child, 'optgroup');
    if (option) options.push(option);
    else if (optgroup) {
      for (const inner of optgroup.children) {
        const grouped = htmlElement(inner, 'option');
        if (grouped) options.push(grouped);
      }
    }
  }
  return options;
}

/** HTML's selectedness setting algorithm, as it stands right after parsing. */
function isSelectedOption(option: Element): boolean {
  const select = ownerSelect(option);
  if (select === null || has(select, 'multiple')) return has(option, 'selected');
  const options = listOfOptions(select);
  const selected = options.filter((o) => has(o, 'selected'));
  if (selected.length > 0) return selected.at(-1) === option;
  const size = /^\s*\+?(\d+)/.exec(select.attribs.size ?? '');
  const displaySize = size ? Number(size[1]) || 1 : 1;
  if (displaySize !== 1) return false;
  return options.find((o) => !isDisabledOption(o)) === option;
}

function isChecked(element: Element): boolean {
  if (!htmlElement(element)) return false;
  if (element.name === 'input') {
    const type = inputType(element);
    if (type === 'checkbox') return has(element, 'checked');
    if (type === 'radio') return isCheckedRadio(element);
    return false;
  }
  if (element.name === 'option') return isSelectedOption(element);
  return false;
}

/** Input types that ignore the required attribute. */
const NOT_REQUIRABLE = ['hidden', 'range', 'color', 'submit', 'reset', 'button', 'image'];
const REQUIRABLE_INPUT = `input:not(${NOT_REQUIRABLE.map((t) => `[type="${t}" i]`).join(', ')})`;

export const BROWSER_PSEUDO_CLASSES: Record<string, string | ((element: Element) => boolean)> = {
  // Only <a> and <area> with href are links.
  'any-link': ':is(a, area)[href]',
  link: ':is(a, area)[href]',
  // Only form controls are enabled or disabled.
  disabled: [
    ':is(button, input, select, textarea, optgroup, option, fieldset)[disabled]',
    'optgroup[disabled] > option',
    'fieldset[disabled] :is(button, input, select, textarea, fieldset):not(fieldset[disabled] > legend:first-of-type *)',
  ].join(', '),
  enabled: ':is(button, input, select, textarea, optgroup, option, fieldset):not(:disabled)',
  // css-select prefers its own string alias to a function pseudo of the same
  // name, so :checked is an alias of a function registered under another name
  // (one the spec's selector check would refuse, so no spec can name it).
  checked: ':crowdcrawl-checked',
  'crowdcrawl-checked': isChecked,
  required: `:is(${REQUIRABLE_INPUT}, select, textarea)[required]`,
  optional: `:is(input, select, textarea, button):not(:is(${REQUIRABLE_INPUT}, select, textarea)[required])`,
};
