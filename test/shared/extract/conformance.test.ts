// The extraction engine must give the same result in a browser (DOMParser, the
// browser's selector engine) and in Node (cheerio/parse5, css-select). Every
// fixture of test/fixtures/conformance/ runs through both, with the shared
// general spec and, when it has one, its own NAME.spec.json; the results must be
// deeply equal. A few values are also checked by hand, so that two engines that
// are wrong in the same way cannot pass.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { assertSpec } from '../../../shared/spec/schema.ts';
import { extractHtml } from '../../../server/extract/cheerio.ts';
import { MAX_ITEMS_PER_PAGE, MAX_LINKS_PER_PAGE, type ExtractResult } from '../../../shared/extract/engine.ts';
import { generateLargePage, LARGE_PAGE_SPEC } from '../../fixtures/conformance/generated-page.ts';
import { startBrowserExtractor, type BrowserExtractor, type ExtractionCase } from './browser-extractor.ts';

const FIXTURES = new URL('../../fixtures/conformance/', import.meta.url).pathname;
const readJson = (file: string): unknown => JSON.parse(readFileSync(`${FIXTURES}${file}`, 'utf8'));
const GENERAL_SPEC = assertSpec(readJson('general.spec.json'));

interface NamedCase extends ExtractionCase {
  name: string;
}

function fixtureCases(): NamedCase[] {
  const cases: NamedCase[] = [];
  const htmlFiles = readdirSync(FIXTURES).filter((f) => f.endsWith('.html')).sort();
  for (const file of htmlFiles) {
    const name = file.slice(0, -'.html'.length);
    const html = readFileSync(`${FIXTURES}${file}`, 'utf8');
    const pageUrl = `http://example.com/conformance/${file}`;
    cases.push({ name: `${name} (general spec)`, html, spec: GENERAL_SPEC, pageUrl });
    if (existsSync(`${FIXTURES}${name}.spec.json`)) {
      cases.push({ name: `${name} (own spec)`, html, spec: assertSpec(readJson(`${name}.spec.json`)), pageUrl });
    }
  }
  const large = generateLargePage();
  const largeUrl = 'http://example.com/conformance/generated/large.html';
  cases.push({ name: 'generated 2 MB page (own spec)', html: large, spec: assertSpec(LARGE_PAGE_SPEC), pageUrl: largeUrl });
  cases.push({ name: 'generated 2 MB page (general spec)', html: large, spec: GENERAL_SPEC, pageUrl: largeUrl, options: { depth: 3 } });
  return cases;
}

const cases = fixtureCases();
const nodeResults = new Map<string, ExtractResult>();
const browserResults = new Map<string, ExtractResult | { error: string }>();
let browser: BrowserExtractor | undefined;

before(async () => {
  for (const c of cases) nodeResults.set(c.name, extractHtml(c.html, c.spec, c.pageUrl, c.options));
  browser = await startBrowserExtractor();
  const results = await browser.extractAll(cases);
  cases.forEach((c, i) => browserResults.set(c.name, results[i]!));
});

after(async () => {
  await browser?.close();
});

function nodeResult(name: string): ExtractResult {
  const result = nodeResults.get(name);
  assert.ok(result, `no Node result for ${name}`);
  return result;
}

/** The first item of `type` on a fixture, as Node extracted it (the browser's is checked equal below). */
function item(name: string, type = 'item', index = 0): Record<string, unknown> {
  const found = nodeResult(name).items.filter((i) => i.type === type)[index];
  assert.ok(found, `no ${type} item #${index} in ${name}`);
  return found.data;
}

describe('browser and Node extract the same items and links', () => {
  it('has at least 45 HTML fixtures and the generated page', () => {
    const htmlFiles = readdirSync(FIXTURES).filter((f) => f.endsWith('.html'));
    assert.ok(htmlFiles.length >= 45, `only ${htmlFiles.length} fixtures`);
    assert.ok(cases.some((c) => c.html.length > 2_000_000));
  });

  for (const c of cases) {
    it(`gives identical results for ${c.name}`, () => {
      const fromBrowser = browserResults.get(c.name);
      assert.ok(fromBrowser, 'the browser returned nothing');
      assert.ok(!('error' in fromBrowser), `the browser engine threw: ${'error' in fromBrowser ? fromBrowser.error : ''}`);
      assert.deepStrictEqual(fromBrowser, nodeResult(c.name));
    });
  }
});

describe('conformance fixtures give the expected values', () => {
  it('extracts the quotes of the listing with decoded entities and absolute URLs', () => {
    const quotes = nodeResult('basic-listing (own spec)').items;
    assert.equal(quotes.length, 3);
    assert.deepStrictEqual(quotes[0]!.data, {
      text: '\u201cThe world as we have created it is a process of our thinking.\u201d',
      author: 'Albert Einstein',
      authorUrl: 'http://example.com/author/Albert-Einstein',
      tags: ['change', 'deep-thoughts', 'thinking'],
      keywords: 'change,deep-thoughts,thinking,world',
      tagsLine: 'Tags: change deep-thoughts thinking',
      firstTag: 'change',
      tagsOrDefault: ['change', 'deep-thoughts', 'thinking'],
    });
    assert.equal(quotes[2]!.data.firstTag, 'untagged');
    assert.deepStrictEqual(quotes[2]!.data.tagsOrDefault, ['none']);
    assert.deepStrictEqual(nodeResult('basic-listing (own spec)').links, [
      'http://example.com/page/2/',
      'http://example.com/tag/change/page/1/',
      'http://example.com/tag/deep-thoughts/page/1/',
      'http://example.com/tag/thinking/page/1/',
      'http://example.com/tag/abilities/page/1/',
      'http://example.com/tag/choices/page/1/',
    ]);
  });

  it('returns ::text in document order, not grouped by element', () => {
    const data = item('document-order-text (own spec)');
    assert.deepStrictEqual(data.own, ['a', 'e', 'g', 'i']);
    assert.deepStrictEqual(data.allText, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']);
    assert.deepStrictEqual(data.starText, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']);
    assert.deepStrictEqual(data.childrenOwn, ['b', 'd', 'f', 'h']);
    assert.deepStrictEqual(data.selfAndChildren, ['b', 'c', 'd', 'f', 'h']);
    assert.deepStrictEqual(data.bAndI, ['b', 'c', 'd', 'h']);
    assert.deepStrictEqual(data.iAndB, ['b', 'c', 'd', 'h']);
    assert.deepStrictEqual(data.bContent, ['bcd', 'h']);
    assert.equal(data.selfContent, 'abcdefghi');
    assert.deepStrictEqual(data.joinedOwn, ['a+e+g+i']);
  });

  it('decodes named, numeric and legacy entities as browsers do', () => {
    const ids = (name: string): Map<string, string> =>
      new Map(
        nodeResult(`${name} (general spec)`).items
          .filter((i) => i.type === 'block' && typeof i.data.id === 'string')
          .map((i) => [i.data.id as string, i.data.content as string]),
      );
    const named = ids('entities-named');
    assert.equal(named.get('basic'), '<tag> & "quoted" \'single\'');
    assert.equal(named.get('nbsp'), 'non\u00a0breaking\u00a0\u00a0spaces');
    assert.equal(named.get('legacy'), '\u00a9 without semicolon, & without, <and> & \u00a9');
    assert.equal(named.get('longest'), '\u00acit; \u2209 \u00ac \u00aci');
    const numeric = ids('entities-numeric');
    assert.equal(numeric.get('cp1252'), '\u20ac \u201a \u2013 \u2014 \u0178');
    assert.equal(numeric.get('invalid'), '[\ufffd] [\ufffd] [\ufffd] [\ufffd] [\ufffe]');
    assert.equal(numeric.get('astral'), '\u{1F600} \u{1F600} \u{1F469}\u200d\u{1F4BB}');
    const links = item('entities-named (general spec)', 'page').hrefs as string[];
    assert.ok(links.includes('/search?q=1&copy=2&lang=en&not=3'), 'an entity name followed by "=" in an attribute stays as written');
  });

  it('resolves links against the first <base href>', () => {
    const data = item('base-href (general spec)', 'page');
    assert.deepStrictEqual(data.absoluteLinks, [
      'http://example.com/sub/dir/page.html',
      'http://example.com/sub/up.html',
      'http://example.com/root.html',
      'http://example.com/sub/dir/?q=1',
      'http://example.com/sub/dir/',
      'http://example.com/sub/dir/',
      'http://other.example.org/x',
    ]);
    assert.deepStrictEqual(item('base-multiple (general spec)', 'page').sources, ['https://static.example.com/assets/pic.jpg']);
    assert.deepStrictEqual(item('base-in-body (general spec)', 'page').absoluteLinks, [
      'http://example.com/late/base/before.html',
      'http://example.com/late/base/after.html',
    ]);
  });

  it('keeps <template> content out of selections and text, and parses <noscript> content as elements', () => {
    const page = item('templates (general spec)', 'page');
    assert.ok(!(page.documentText as string).includes('template item'));
    assert.ok(!(page.documentText as string).includes('hidden'));
    assert.deepStrictEqual(nodeResult('templates (general spec)').links, ['http://example.com/real']);
    const pseudo = item('pseudo-classes (own spec)');
    assert.deepStrictEqual(pseudo.templateContent, []);
    assert.deepStrictEqual(pseudo.noscriptContent, ['ns1']);
    assert.deepStrictEqual(item('noscript (general spec)', 'page').hrefs, ['/noscript.css', '/no-js']);
  });

  it('applies the relative selector semantics on item roots', () => {
    const sections = nodeResult('relative-selectors (own spec)').items.filter((i) => i.type === 'section');
    assert.deepStrictEqual(sections.map((s) => s.data.id), ['i1', 'i2', 'i3']);
    assert.deepStrictEqual(sections[0]!.data.outerDivSpan, ['deep one']);
    assert.deepStrictEqual(sections[0]!.data.outerClassSpan, []);
    assert.deepStrictEqual(sections[0]!.data.childSpan, ['inside one']);
    assert.deepStrictEqual(sections[0]!.data.adjacentSibling, []);
    // parsel's descendant-or-self: the item root itself may be the `section`.
    assert.deepStrictEqual(sections[1]!.data.nestedItemName, ['inside two', 'nested item three']);
    assert.deepStrictEqual(item('relative-selectors (own spec)', 'document').class, 'outer');
    assert.equal(item('relative-selectors (own spec)', 'scoped').text, 'sibling of item one');
  });

  it('evaluates form pseudo-classes as Chromium does', () => {
    const data = item('pseudo-classes (own spec)');
    assert.deepStrictEqual((data.checked as string[]).filter((id) => id.startsWith('r') || id.startsWith('i')), [
      'i1', 'i3', 'i4', 'ra1', 'ra2', 'ra3', 'ra4', 'rb1', 'rc2',
    ]);
    assert.deepStrictEqual(data.svgByLowerCase, ['fo1', 'cp1/']);
    assert.deepStrictEqual(data.viewBox, ['0 0 1 1']);
    assert.deepStrictEqual(data.required, ['i5']);
  });

  it('matches class and id selectors case-insensitively in quirks mode only', () => {
    const quirks = nodeResult('quirks-mode (general spec)');
    assert.ok(quirks.items.some((i) => i.type === 'block' && i.data.id === 'UpperId'));
    const spec = assertSpec({ name: 'q', startUrls: ['http://example.com/'], items: [{ selector: '.mixedcase', fields: { id: '::attr(id)' } }] });
    const quirksHtml = readFileSync(`${FIXTURES}quirks-mode.html`, 'utf8');
    const standardsHtml = readFileSync(`${FIXTURES}limited-quirks.html`, 'utf8');
    assert.equal(extractHtml(quirksHtml, spec, 'http://example.com/').items.length, 1);
    assert.equal(extractHtml(standardsHtml, spec, 'http://example.com/').items.length, 0);
  });

  it('applies every processor as documented', () => {
    const data = item('processors (own spec)');
    assert.equal(data.normalized, 'Widget Deluxe 2000');
    assert.equal(data.price, '1234.50');
    assert.equal(data.groupTwo, '03');
    assert.equal(data.named, '03');
    assert.equal(data.noMatch, 'fallback');
    assert.deepStrictEqual(data.noMatchAll, []);
    assert.equal(data.optionalGroup, '');
    assert.equal(data.replaced, 'SKU: 123/ab-XY');
    assert.deepStrictEqual(data.featuresJoined, ['FAST, SMALL, CHEAP']);
    assert.equal(data.firstFeatureAfterJoin, 'Small');
    assert.deepStrictEqual(data.images, ['http://example.com/conformance/images/w.png', 'http://cdn.example.com/x.png']);
    assert.deepStrictEqual(data.emptyJoin, ['nothing']);
  });

  it('caps items and links on a huge page the same way on both sides', () => {
    const own = nodeResult('generated 2 MB page (own spec)');
    assert.equal(own.items.length, MAX_ITEMS_PER_PAGE);
    assert.equal(own.links.length, MAX_LINKS_PER_PAGE);
    assert.deepStrictEqual(own.items[7]!.data, {
      n: '7',
      name: 'zeta & beta #7',
      url: 'http://example.com/catalog/item/7.html?ref=7',
      price: '259',
      extra: 'café 😀',
      text: 'zeta & beta #7 $259.07 beta zeta, lorem ipsum dolor café 😀',
    });
  });
});
