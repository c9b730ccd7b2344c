// Parses the Scrapy/parsel-style selectors of a spec: a CSS selector list with an
// optional trailing pseudo-element, `::text` or `::attr(name)`.
//
// The CSS part must mean the same thing in the browser (querySelectorAll) and in
// Node (cheerio's css-select), so it is parsed here with css-what and only the
// pseudo-classes that both engines implement identically are accepted.
import { parse, stringify, type Selector } from 'css-what';

export type SelectorPseudo =
  | { kind: 'element' } // no pseudo-element: the elements themselves
  | { kind: 'text' } // ::text, the elements' own text-node children (all text under them for `sel ::text`)
  | { kind: 'attr'; name: string }; // ::attr(name)

export interface ParsedSelector {
  /** The CSS selector list without pseudo-elements; '' means the context element itself. */
  readonly css: string;
  /** Each selector of the list, for engines that need them one at a time. */
  readonly parts: readonly string[];
  /**
   * For `::text`, parallel to `parts`: true where the part read every text node
   * under its elements, their own included. parsel turns `sel *::text` and
   * `sel ::text` (a bare `*` after a descendant combinator) into
   * `sel/descendant-or-self::text()`, so those parts are stored as `sel` with
   * this flag. `sel > *::text` or `sel *.x::text` are plain CSS and not flagged.
   */
  readonly deepText: readonly boolean[];
  readonly pseudo: SelectorPseudo;
  /** The selector as written. */
  readonly source: string;
}

export class SelectorError extends Error {
  override readonly name = 'SelectorError';
}

/** Pseudo-classes whose meaning css-select and the browsers agree on. */
const PORTABLE_PSEUDO_CLASSES = new Set([
  'not', 'is', 'where', 'has', 'scope', 'root', 'empty',
  'first-child', 'last-child', 'only-child',
  'first-of-type', 'last-of-type', 'only-of-type',
  'nth-child', 'nth-last-child', 'nth-of-type', 'nth-last-of-type',
  'link', 'any-link', 'checked', 'disabled', 'enabled', 'required', 'optional',
]);

const MAX_SELECTOR_LENGTH = 1000;

function checkTokens(tokens: readonly Selector[], source: string): void {
  for (const token of tokens) {
    if (token.type === 'pseudo') {
      if (!PORTABLE_PSEUDO_CLASSES.has(token.name)) {
        throw new SelectorError(
          `pseudo-class ":${token.name}" is not supported in "${source}" (it does not behave the same in browsers and in Node)`,
        );
      }
      if (Array.isArray(token.data)) for (const inner of token.data) checkTokens(inner, source);
    }
  }
}

const TRAVERSAL_TYPES = new Set(['child', 'parent', 'sibling', 'adjacent', 'descendant', 'column-combinator']);

/** `x *` (a bare universal selector after a descendant combinator), with something before it. */
function endsInDescendantUniversal(tokens: readonly Selector[]): boolean {
  const last = tokens.at(-1);
  return (
    tokens.length >= 3 &&
    last?.type === 'universal' &&
    last.namespace === null &&
    tokens.at(-2)?.type === 'descendant' &&
    !TRAVERSAL_TYPES.has(tokens.at(-3)!.type)
  );
}


const cache = new Map<string, ParsedSelector>();

/** Parses a selector; throws SelectorError with a reason a person can act on. */
export function parseSelector(source: string): ParsedSelector {
  const cached = cache.get(source);
  if (cached) return cached;
  if (source.length > MAX_SELECTOR_LENGTH) {
    throw new SelectorError(`selector is longer than ${MAX_SELECTOR_LENGTH} characters`);
  }
  const trimmed = source.trim();
  let pseudo: SelectorPseudo = { kind: 'element' };
  let lists: Selector[][] = [];
  if (trimmed !== '') {
    try {
      lists = parse(trimmed);
    } catch (error) {
      throw new SelectorError(`invalid CSS selector "${source}": ${(error as Error).message}`);
    }
  }
  const pseudos: SelectorPseudo[] = [];
  const cssParts: string[] = [];
  const deepText: boolean[] = [];
  for (const list of lists) {
    const last = list.at(-1);
    let tokens = list;
    if (last?.type === 'pseudo-element') {
      if (last.name === 'text' && last.data === null) pseudos.push({ kind: 'text' });
      else if (last.name === 'attr' && typeof last.data === 'string' && last.data.trim() !== '') {
        pseudos.push({ kind: 'attr', name: last.data.trim().toLowerCase() });
      } else {
        throw new SelectorError(
          `unknown pseudo-element "::${last.name}${last.data === null ? '' : `(${last.data})`}" in "${source}" (use ::text or ::attr(name))`,
        );
      }
      tokens = list.slice(0, -1);
      // `a ::text` leaves a dangling combinator: it means `a *::text` (and `a > ::text`, `a > *::text`).
      if (tokens.length > 0 && TRAVERSAL_TYPES.has(tokens.at(-1)!.type)) tokens = [...tokens, { type: 'universal', namespace: null } as Selector];
      if (pseudos.at(-1)!.kind === 'text' && endsInDescendantUniversal(tokens)) {
        tokens = tokens.slice(0, -2);
        deepText.push(true);
      } else {
        deepText.push(false);
      }
    } else {
      deepText.push(false);
      pseudos.push({ kind: 'element' });
    }
    if (tokens.some((t) => t.type === 'pseudo-element')) {
      throw new SelectorError(`a pseudo-element may only end a selector: "${source}"`);
    }
    checkTokens(tokens, source);
    cssParts.push(tokens.length === 0 ? '' : stringify([tokens]));
  }
  if (pseudos.length > 0) {
    const first = JSON.stringify(pseudos[0]);
    if (pseudos.some((p) => JSON.stringify(p) !== first)) {
      throw new SelectorError(`every selector of the list "${source}" must end in the same pseudo-element`);
    }
    pseudo = pseudos[0]!;
  }
  if (cssParts.includes('') && cssParts.length > 1) {
    throw new SelectorError(`a bare pseudo-element cannot be part of a selector list: "${source}"`);
  }
  const keep = cssParts.map((p) => p !== '');
  const parts = cssParts.filter((_, i) => keep[i]);
  const deep = pseudo.kind === 'text' ? deepText.filter((_, i) => keep[i]) : parts.map(() => false);
  const parsed: ParsedSelector = { css: parts.join(', '), parts, deepText: deep, pseudo, source };
  if (cache.size > 5000) cache.clear();
  cache.set(source, parsed);
  return parsed;
}
