// The cheap checks every result passes (links must occur in the served body)
// and the scan that tells when only a browser may judge a browser's result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { linksNotInBody, linkTokens } from '../../../server/validate/link-scan.ts';
import { hasParserDifferences } from '../../../server/validate/parser-differences.ts';
import { TrustBook, type Contributor } from '../../../server/validate/trust.ts';
import { resultDigest } from '../../../server/validate/digest.ts';

const page = `<html><body>
<a href="/page/2/">next</a>
<a href="../author/Albert-Einstein">about</a>
<a href="/search?q=caf%C3%A9&amp;page=2">search</a>
<a href="https://example.org/">home</a>
</body></html>`;

test('links found in the page pass the scan; invented ones are named', () => {
  assert.deepEqual(linksNotInBody(page, ['http://h/page/2/', 'http://h/author/Albert-Einstein', 'http://h/search?q=caf%C3%A9&page=2', 'https://example.org/']), []);
  assert.deepEqual(linksNotInBody(page, ['http://h/admin/delete?id=1', 'http://h/page/2/', 'http://h/page/37/']), ['http://h/admin/delete?id=1', 'http://h/page/37/']);
  // Percent-decoded text in the page counts as the same link.
  assert.deepEqual(linksNotInBody('<a href="/wiki/Café">x</a>', ['http://h/wiki/Caf%C3%A9']), []);
  assert.deepEqual(linksNotInBody(Buffer.from(page), []), []);
});

test('a link\'s tokens are its last path segment and its query', () => {
  assert.deepEqual(linkTokens('http://h/a/b/c.html?x=1'), ['c.html', 'x=1']);
  assert.deepEqual(linkTokens('http://h/'), []);
  assert.deepEqual(linkTokens('not a url'), ['not a url']);
});

test('the known DOMParser/parse5 differences (docs/extraction.md) are found; ordinary pages are not flagged', () => {
  assert.equal(hasParserDifferences('<select><option>a</option><div class="x">b</div></select>'), true);
  assert.equal(hasParserDifferences('<select><option>a</option><optgroup><option>b</option></optgroup><hr></select>'), false);
  assert.equal(hasParserDifferences('<p><\u0000b>'), true);
  assert.equal(hasParserDifferences('<svg><desc><![CDATA[a > b]]></desc></svg>'), true);
  assert.equal(hasParserDifferences('<p><![CDATA[x]]></p>'), false);
  assert.equal(hasParserDifferences('<a href="http://exa mple.com/">x</a>'), true);
  assert.equal(hasParserDifferences('<a href="http://example.com/a b">x</a>'), false);
  const quotes = readFileSync(new URL('../../fixtures/conformance/basic-listing.html', import.meta.url), 'utf8');
  assert.equal(hasParserDifferences(quotes), false);
});

test('trust: checked on every result through probation, then at max(minCheckRate, 1/run), never zero; strikes ban on the browser and the address', () => {
  let draw = 0.5;
  const book = new TrustBook({ probationResults: 3, minCheckRate: 0.05, strikesToBan: 2 }, () => draw);
  const alice: Contributor = { workerId: 'w1', clientId: 'alice', address: '10.0.0.1', name: 'alice', operatorTrusted: false };
  assert.equal(book.needsCheck(alice), true);
  for (let i = 0; i < 3; i++) book.valid(alice, i);
  // Run 3: rate 1/3; a draw of 0.5 is not checked, 0.2 is.
  assert.equal(book.needsCheck(alice), false);
  draw = 0.2;
  assert.equal(book.needsCheck(alice), true);
  for (let i = 0; i < 100; i++) book.valid(alice, i);
  const row = book.get('client:alice')!;
  assert.equal(book.checkRate(row), 0.05);
  draw = 0.049;
  assert.equal(book.needsCheck(alice), true, 'never zero');
  // A strike resets the run: probation again.
  assert.equal(book.invalid(alice, 200, 'wrong'), false);
  assert.equal(book.needsCheck(alice), true);
  assert.equal(book.get('client:alice')!.consecutiveValid, 0);
  // A new browser on the same address: its own probation, but the address's strikes add up.
  const again: Contributor = { ...alice, workerId: 'w2', clientId: 'alice-2' };
  assert.equal(book.invalid(again, 201, 'wrong again'), true, 'the address reached two strikes');
  assert.equal(book.get('address:10.0.0.1')!.strikes, 2);
  assert.equal(book.needsCheck({ ...alice, operatorTrusted: true }), false);
});

test('the result digest is the same for the same items and links, and differs on any change', () => {
  const items = [{ type: 'q', data: { text: 'a', tags: ['x', 'y'] } }];
  assert.equal(resultDigest(items, ['http://h/1']), resultDigest(structuredClone(items), ['http://h/1']));
  assert.notEqual(resultDigest(items, ['http://h/1']), resultDigest(items, ['http://h/2']));
  assert.notEqual(resultDigest(items, []), resultDigest([{ type: 'q', data: { text: 'a', tags: ['y', 'x'] } }], []));
});
