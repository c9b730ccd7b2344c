// A bounded memo for the pure string functions of URL handling. A crawl meets
// the same links on page after page (navigation, sidebars, in-text links to
// popular pages), and each canonicalization costs a WHATWG URL parse; the
// extraction engine (in every tab and Node worker) and the hub's result
// checks call them for every link of every page.
//
// Bounded the cheap way, like the engine's selector caches: when full it is
// emptied, so a crawl of links that never repeat costs what it did without it
// (one Map insert more per call). Only inputs up to a length are kept (URLs
// may be 8 KB long; real links are far shorter), so memory stays capped at
// about maxEntries × maxInputLength characters, twice over with the values.

export interface StringMemo<V> {
  (input: string): V;
  /** Entries held now (never more than the bound). */
  readonly size: number;
  clear(): void;
}

/**
 * `compute` memoized per input string: at most `maxEntries` kept, inputs
 * longer than `maxInputLength` computed each time. `compute` must be a pure
 * function of its input.
 */
export function memoizeString<V>(compute: (input: string) => V, maxEntries = 4096, maxInputLength = 512): StringMemo<V> {
  const entries = new Map<string, V>();
  const memo = (input: string): V => {
    if (input.length > maxInputLength) return compute(input);
    const hit = entries.get(input);
    if (hit !== undefined || entries.has(input)) return hit as V;
    const value = compute(input);
    if (entries.size >= maxEntries) entries.clear();
    entries.set(input, value);
    return value;
  };
  Object.defineProperty(memo, 'size', { get: () => entries.size });
  return Object.assign(memo, { clear: () => entries.clear() }) as StringMemo<V>;
}
