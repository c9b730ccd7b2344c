// When two nicknames are "the same" on the board (server/live/names.ts keeps
// shown names unique by this), and the numbered name a second one gets. Kept
// apart from shared/names.ts: the confusables tables are for the hub only.
import { remove as removeConfusables } from 'confusables';
import { NAME_MAX_LENGTH, graphemes } from './names.ts';

/**
 * Two nicknames with one skeleton are "the same" on the board. It is Unicode's
 * confusable skeleton (UTS #39) folded further: compatibility forms (NFKC: full
 * width, mathematical letters), look-alikes from other scripts mapped to the
 * Latin letter they imitate (Cyrillic "а", Greek "α", Cherokee "Ꭺ"), accents
 * dropped, the ASCII look-alikes UTS #39 maps (1, | and a capital I among small
 * letters to l; 0 to o; rn to m), and case: "Alice", "alice" and "аlice" are one name. Never shown.
 */
export function nameSkeleton(name: string): string {
  let latin = removeConfusables(name.normalize('NFKC')).replace(/rn/g, 'm').replace(/[1|]/g, 'l');
  // A capital I among small letters reads as an l ("aIice"); in capitals it is an I ("ALICE").
  if (/\p{Ll}/u.test(latin)) latin = latin.replace(/I/g, 'l');
  return removeConfusables(latin.toLowerCase().normalize('NFKC'))
    .toLowerCase()
    .replace(/0/g, 'o')
    .replace(/\s+/g, ' ')
    .trim();
}

/** "alice" with a number, for the second "alice" to connect: "alice (2)", cut so it stays within NAME_MAX_LENGTH. */
export function numberedName(name: string, n: number): string {
  const suffix = ` (${n})`;
  const parts = [...graphemes.segment(name)].map((p) => p.segment);
  const room = NAME_MAX_LENGTH - suffix.length;
  return `${(parts.length > room ? parts.slice(0, room) : parts).join('').trimEnd()}${suffix}`;
}
