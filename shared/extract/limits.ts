// Caps on what extraction produces from one page, so a hostile or huge page cannot
// make a worker (or the hub that stores the result) do unbounded work. Both
// engines apply them identically; the hub validates results against the same
// numbers.

/** Items kept per page; later matches are dropped. */
export const MAX_ITEMS_PER_PAGE = 10_000;
/** Links reported per page (after deduplication); later ones are dropped. */
export const MAX_LINKS_PER_PAGE = 10_000;
/** Characters in one value; longer values are cut (never inside a surrogate pair). */
export const MAX_VALUE_CHARS = 100_000;
/** Values one field collects before processing, and values an `all` field returns. */
export const MAX_VALUES_PER_FIELD = 1_000;
/**
 * Characters of all values of a page's items together. An item that would cross
 * it is dropped, and so is every item after it, so a page's result stays a few
 * MB at most.
 */
export const MAX_RESULT_CHARS = 5_000_000;
