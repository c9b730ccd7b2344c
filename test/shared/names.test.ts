import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NAME_MAX_LENGTH, checkNickname } from '../../shared/names.ts';
import { nameSkeleton, numberedName } from '../../shared/name-skeleton.ts';
import { isErrorCode } from '../../shared/errors.ts';
import { helloSchema } from '../../shared/protocol.ts';

function nameOf(raw: unknown): string {
  const checked = checkNickname(raw);
  assert.ok(checked.ok, `"${String(raw)}" is accepted (${checked.ok ? '' : checked.message})`);
  return checked.name;
}

function problemOf(raw: unknown): string {
  const checked = checkNickname(raw);
  assert.ok(!checked.ok, `${JSON.stringify(raw)} is refused`);
  assert.equal(checked.code, 'NAME_INVALID');
  assert.ok(isErrorCode(checked.code), 'the code is in the catalogue');
  return checked.problem;
}

test('a nickname is NFC, its white space collapsed and trimmed', () => {
  assert.equal(nameOf('  alice  '), 'alice');
  assert.equal(nameOf('ada\t \u00a0 lovelace'), 'ada lovelace', 'tabs and no-break spaces are spaces');
  assert.equal(nameOf('mei\u3000ling'), 'mei ling', 'an ideographic space too');
  assert.equal(nameOf('line\nbreak'), 'line break');
  assert.equal(nameOf('Jose\u0301'), 'José', 'composed (NFC)');
  assert.equal(nameOf('Jose\u0301').length, 4);
  assert.equal(nameOf('I \u2764\ufe0f crawls'), 'I \u2764 crawls', 'an emoji presentation selector is dropped, not refused');
  assert.equal(nameOf('日本語'), '日本語', 'any script is welcome');
  assert.equal(nameOf('Nguyễn Văn Ằ'), 'Nguyễn Văn Ằ');
  assert.equal(nameOf('R2-D2'), 'R2-D2');
});

test('a nickname has at most NAME_MAX_LENGTH graphemes, counted as a reader counts letters', () => {
  assert.equal(nameOf('a'.repeat(NAME_MAX_LENGTH)), 'a'.repeat(NAME_MAX_LENGTH));
  assert.equal(problemOf('a'.repeat(NAME_MAX_LENGTH + 1)), 'too-long');
  assert.equal(nameOf(`  ${'a'.repeat(NAME_MAX_LENGTH)}  `).length, NAME_MAX_LENGTH, 'counted after trimming');
  assert.equal(nameOf('e\u0301'.repeat(NAME_MAX_LENGTH)), '\u00e9'.repeat(NAME_MAX_LENGTH), 'an accented letter is one');
  assert.equal(nameOf(`a${'\u{1F44B}\u{1F3FD}'.repeat(NAME_MAX_LENGTH - 1)}`).length, 1 + 4 * (NAME_MAX_LENGTH - 1), 'an emoji with its skin tone is one');
  assert.equal(problemOf('a'.repeat(10_000)), 'too-long', 'a huge input is refused unread');
});

test('invisible, control and bidi characters are refused with NAME_INVALID, naming the character', () => {
  const invisible = [
    '\u3164', // HANGUL FILLER: a letter that draws nothing
    '\u3164\u3164\u3164',
    'alice\u3164',
    '\uffa0bob', // HALFWIDTH HANGUL FILLER
    '\u115fx',
    'al\u200bice', // zero-width space
    'al\u200cice', // zero-width non-joiner
    'al\u200dice', // zero-width joiner
    '\u2060alice', // word joiner
    '\ufeffalice', // BOM
    'alice\u00ad', // soft hyphen
    '\u202eecila', // right-to-left override
    '\u2067alice\u2069', // isolates
    '\u200falice', // right-to-left mark
    'al\u0000ice',
    'alice\u007f',
    'alice\u0085x'.replace('\u0085', '\u0007'),
    '\u2800', // BRAILLE PATTERN BLANK
    'a\u2800b',
    'alice\ue000', // private use
    'alice\ud800', // lone surrogate
    'alice\u{e0041}', // tag character
    'alice\u180e', // Mongolian vowel separator
  ];
  for (const raw of invisible) assert.equal(problemOf(raw), 'invisible', JSON.stringify(raw));
  const refused = checkNickname('\u3164');
  assert.ok(!refused.ok && refused.message.includes('U+3164'), 'the message names the character');
});

test('names without a letter or digit, empty ones and piles of accents are refused', () => {
  assert.equal(problemOf(''), 'empty');
  assert.equal(problemOf('   '), 'empty');
  assert.equal(problemOf('\t\n'), 'empty');
  assert.equal(problemOf(undefined), 'empty');
  assert.equal(problemOf('...'), 'no-letter');
  assert.equal(problemOf('— — —'), 'no-letter');
  assert.equal(problemOf('\u0301\u0301'), 'no-letter');
  assert.equal(problemOf(`Z${'\u0336\u0301\u0300'.repeat(5)}algo`), 'marks');
  assert.equal(nameOf('😀 7'), '😀 7');
});

test('the worker handshake normalises the name as checkNickname does', () => {
  const hello = { protocolVersion: 1, kind: 'node', clientId: 'c'.repeat(22), capacity: 1 };
  assert.equal(helloSchema.parse({ ...hello, name: '  ada\u00a0 lovelace ' }).name, 'ada lovelace');
  assert.equal(helloSchema.safeParse({ ...hello, name: 'al\u200bice' }).success, false);
});

test('confusable and differently cased nicknames share a skeleton', () => {
  const alice = nameSkeleton('alice');
  for (const lookalike of ['Alice', 'ALICE', '\u0430lice' /* Cyrillic а */, 'αlice', 'ａｌｉｃｅ', '𝐚𝐥𝐢𝐜𝐞', 'aIice', 'a1ice', 'alicé', 'Ꭺlice']) {
    assert.equal(nameSkeleton(lookalike), alice, lookalike);
  }
  assert.equal(nameSkeleton('rnary'), nameSkeleton('mary'));
  assert.equal(nameSkeleton('b0b'), nameSkeleton('bob'));
  for (const other of ['alicia', 'bob', 'a lice', 'alice (2)', '日本語']) assert.notEqual(nameSkeleton(other), alice, other);
  assert.equal(nameSkeleton('日本語'), '日本語');
});

test('a numbered name stays within the length', () => {
  assert.equal(numberedName('alice', 2), 'alice (2)');
  const long = numberedName('a'.repeat(NAME_MAX_LENGTH), 12);
  assert.equal(long.length, NAME_MAX_LENGTH);
  assert.ok(long.endsWith('a (12)'));
  assert.equal(nameOf(long), long, 'a numbered name is itself a valid nickname');
});
