import { test } from 'node:test';
import assert from 'node:assert/strict';
import { charsetFromContentType, charsetFromMetaPrescan, decodeHtml } from '../../../server/relay/charset.ts';

const TEXT = 'Grüße, café — 東京';

test('decodes UTF-8 named by the Content-Type charset', () => {
  const decoded = decodeHtml(Buffer.from(`<p>${TEXT}</p>`), 'text/html; charset=UTF-8');
  assert.deepEqual(decoded, { text: `<p>${TEXT}</p>`, charset: 'utf-8' });
});

test('a UTF-8 BOM wins over a different Content-Type charset and is dropped from the text', () => {
  const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`<p>${TEXT}</p>`)]);
  assert.deepEqual(decodeHtml(body, 'text/html; charset=iso-8859-1'), { text: `<p>${TEXT}</p>`, charset: 'utf-8' });
});

test('decodes UTF-16LE from its BOM', () => {
  const body = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`<p>${TEXT}</p>`, 'utf16le')]);
  assert.deepEqual(decodeHtml(body, 'text/html'), { text: `<p>${TEXT}</p>`, charset: 'utf-16le' });
});

test('decodes UTF-16BE from its BOM', () => {
  const le = Buffer.from('<p>ok</p>', 'utf16le');
  const be = Buffer.from(le).swap16();
  assert.deepEqual(decodeHtml(Buffer.concat([Buffer.from([0xfe, 0xff]), be]), undefined), { text: '<p>ok</p>', charset: 'utf-16be' });
});

test('decodes ISO-8859-1 as windows-1252, as the Encoding Standard maps it', () => {
  // 0xE9 is é in both; 0x80 is € only in windows-1252, which browsers use for either label.
  const body = Buffer.concat([Buffer.from('<p>caf'), Buffer.from([0xe9, 0x20, 0x80, 0x20, 0x93, 0x71, 0x94, 0x99, 0x81])]);
  assert.deepEqual(decodeHtml(body, 'text/html; charset="ISO-8859-1"'), { text: '<p>café € \u201cq\u201d\u2122\u0081', charset: 'windows-1252' });
});

test('decodes Shift_JIS named by a <meta charset> when the header has none', () => {
  // 東京 in Shift_JIS.
  const body = Buffer.concat([Buffer.from('<html><head><meta charset="Shift_JIS"><title>'), Buffer.from([0x93, 0x8c, 0x8b, 0x9e]), Buffer.from('</title>')]);
  const decoded = decodeHtml(body, 'text/html');
  assert.equal(decoded.charset, 'shift_jis');
  assert.equal(decoded.text, '<html><head><meta charset="Shift_JIS"><title>東京</title>');
});

test('reads the charset from <meta http-equiv="Content-Type" content="...">', () => {
  const body = Buffer.concat([
    Buffer.from(`<!-- <meta charset="utf-8"> --><META HTTP-EQUIV='content-type' CONTENT='text/html; charset=windows-1251'><p>`),
    Buffer.from([0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2]), // Привет
  ]);
  const decoded = decodeHtml(body, undefined);
  assert.equal(decoded.charset, 'windows-1251');
  assert.ok(decoded.text.endsWith('<p>Привет'));
});

test('only looks for <meta> in the first 1024 bytes', () => {
  const body = Buffer.from(`<p>${'x'.repeat(1100)}</p><meta charset="shift_jis">`);
  assert.equal(charsetFromMetaPrescan(body), undefined);
  assert.equal(decodeHtml(body, undefined).charset, 'utf-8');
});

test('a bogus Content-Type label falls through to the <meta>', () => {
  const body = Buffer.from('<meta charset="windows-1252"><p>caf\u00e9</p>', 'latin1');
  assert.deepEqual(decodeHtml(body, 'text/html; charset=no-such-charset'), { text: '<meta charset="windows-1252"><p>café</p>', charset: 'windows-1252' });
});

test('bogus labels everywhere fall back to UTF-8 when the bytes are valid UTF-8', () => {
  const body = Buffer.from(`<meta charset="klingon"><p>${TEXT}</p>`);
  assert.deepEqual(decodeHtml(body, 'text/html; charset=bogus'), { text: `<meta charset="klingon"><p>${TEXT}</p>`, charset: 'utf-8' });
});

test('falls back to windows-1252 when nothing is declared and the bytes are not valid UTF-8', () => {
  const body = Buffer.from('<p>na\u00efve</p>', 'latin1');
  assert.deepEqual(decodeHtml(body, 'text/html'), { text: '<p>naïve</p>', charset: 'windows-1252' });
});

test('a <meta> that claims UTF-16 is read as UTF-8, since it was itself read as ASCII', () => {
  const body = Buffer.from(`<meta charset="utf-16"><p>${TEXT}</p>`);
  assert.deepEqual(decodeHtml(body, undefined), { text: `<meta charset="utf-16"><p>${TEXT}</p>`, charset: 'utf-8' });
});

test('labels TextDecoder cannot decode (x-user-defined, replacement) are skipped', () => {
  const body = Buffer.from('<p>plain</p>');
  assert.equal(decodeHtml(body, 'text/html; charset=x-user-defined').charset, 'utf-8');
  assert.equal(decodeHtml(body, 'text/html; charset=iso-2022-kr').charset, 'utf-8');
});

test('reads quoted and unquoted charset parameters', () => {
  assert.equal(charsetFromContentType('text/html; charset="utf-8"'), 'utf-8');
  assert.equal(charsetFromContentType('text/html;charset=Shift_JIS; foo=bar'), 'Shift_JIS');
  assert.equal(charsetFromContentType('text/html'), undefined);
  assert.equal(charsetFromContentType(undefined), undefined);
});
