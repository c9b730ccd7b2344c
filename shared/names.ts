// Nicknames, as the hub and the contributor page both see them: one
// normalisation (so the page shows what the hub will show) and the characters
// a nickname may not contain. When two nicknames are "the same" on the board is
// shared/name-skeleton.ts's (apart, so its tables stay out of the browser's bundle).
//
// Normalising is friendly: NFC, every kind of white space (tabs, no-break and
// ideographic spaces) becomes one space, runs collapse, the ends are trimmed,
// and emoji presentation selectors are dropped. Refusing is strict, because a
// name is shown to everyone: more than NAME_MAX_LENGTH graphemes (letters as a
// reader counts them), a character that draws nothing or reorders text (controls, format
// characters such as zero-width spaces and bidi controls, Unicode's
// default-ignorable characters such as U+3164 HANGUL FILLER, private-use and
// unassigned code points), piles of combining marks, or a name without a single
// letter or digit is refused with NAME_INVALID, never silently repaired: the
// volunteer sees which character was refused.
/** Graphemes (letters as a reader counts them: "é" is one however it is encoded) a nickname may have. */
export const NAME_MAX_LENGTH = 32;
/** UTF-16 units accepted at all, before normalising (anything longer is refused unread). */
export const NAME_MAX_INPUT = 256;
/** Combining marks one letter may carry (Vietnamese needs 2; "Zalgo" text stacks dozens). */
const MAX_MARKS = 4;

export type NameProblem = 'empty' | 'too-long' | 'invisible' | 'marks' | 'no-letter';

export type NameCheck =
  | { readonly ok: true; readonly name: string }
  | { readonly ok: false; readonly code: 'NAME_INVALID'; readonly problem: NameProblem; readonly message: string };

/** Every kind of white space, line breaks included: one ASCII space each, then runs collapse. */
const WHITE_SPACE = /[\p{White_Space}]+/gu;
/** Emoji presentation selectors: invisible but harmless, dropped rather than refused ("❤️" is typed with one). */
const PRESENTATION_SELECTORS = /[\uFE0E\uFE0F]/g;
/**
 * Characters that draw nothing or change how the text around them is laid out:
 * controls, format characters (zero-width space and joiners, bidi embeddings,
 * overrides and isolates, the BOM...), default-ignorable code points (U+3164
 * and U+FFA0 Hangul fillers, U+115F/U+1160, variation selectors, tags...),
 * surrogates, private use, unassigned code points, and blank look-alikes that
 * Unicode counts as symbols or letters (U+2800 BRAILLE PATTERN BLANK).
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Default_Ignorable_Code_Point}\u2800\u3164\uFFA0\u115F\u1160]/u;
const MARK_RUN = new RegExp(`\\p{M}{${MAX_MARKS + 1},}`, 'u');
const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;

/** Splits text as a reader counts letters ("é", "👋🏽" are one each). */
export const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

function codePoint(char: string): string {
  return `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

function refuse(problem: NameProblem, message: string): NameCheck {
  return { ok: false, code: 'NAME_INVALID', problem, message };
}

/** The nickname as the hub shows it, or why it is refused (a message for the person who typed it). */
export function checkNickname(raw: unknown): NameCheck {
  if (typeof raw !== 'string') return refuse('empty', 'a nickname is needed');
  if (raw.length > NAME_MAX_INPUT) return refuse('too-long', `nicknames are at most ${NAME_MAX_LENGTH} characters`);
  // White space first (tabs and line breaks are controls, but harmless ones), the check before trimming (trim() eats a BOM).
  let name = raw.normalize('NFC').replace(PRESENTATION_SELECTORS, '').replace(WHITE_SPACE, ' ');
  const bad = INVISIBLE.exec(name);
  if (bad) return refuse('invisible', `nicknames cannot contain invisible or control characters (${codePoint(bad[0])})`);
  name = name.trim();
  if (name === '') return refuse('empty', 'a nickname is needed');
  if (MARK_RUN.test(name)) return refuse('marks', `a letter of a nickname may carry at most ${MAX_MARKS} accents`);
  if (!LETTER_OR_DIGIT.test(name)) return refuse('no-letter', 'a nickname needs at least one letter or digit');
  let length = 0;
  for (const _ of graphemes.segment(name)) length++;
  if (length > NAME_MAX_LENGTH) return refuse('too-long', `nicknames are at most ${NAME_MAX_LENGTH} characters`);
  return { ok: true, name };
}
