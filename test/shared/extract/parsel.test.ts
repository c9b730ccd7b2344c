// Scrapy users' selectors must give Scrapy's values. test/fixtures/parsel/ holds
// well-formed pages, the selector forms whose meaning we share with parsel
// (`::text` in all its forms, `::attr()`, the combinators, pseudo-classes,
// `:scope`), and expected.json: what parsel itself gives for each (written by
// generate.py from Debian's python3-parsel). Both adapters, cheerio in Node and
// DOMParser in a real Chromium, must give exactly those values.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { assertSpec, type Spec } from '../../../shared/spec/schema.ts';
import { extractHtml } from '../../../server/extract/cheerio.ts';
import type { ExtractResult } from '../../../shared/extract/engine.ts';
import { startBrowserExtractor, type BrowserExtractor } from './browser-extractor.ts';

const DIR = new URL('../../fixtures/parsel/', import.meta.url).pathname;
const readJson = <T>(file: string): T => JSON.parse(readFileSync(`${DIR}${file}`, 'utf8')) as T;

interface PageCases {
  roots: string[];
  selectors: string[];
}
const cases = readJson<{ pages: Record<string, PageCases> }>('cases.json').pages;
/** page → root selector → one record per root element → selector → values. */
const expected = readJson<{ pages: Record<string, Record<string, Record<string, string[]>[]>> }>('expected.json').pages;

interface PageRun {
  page: string;
  html: string;
  spec: Spec;
  pageUrl: string;
}

/** One item rule per root selector (type r0, r1…), one `all: true` field per selector (f0, f1…). */
const runs: PageRun[] = Object.entries(cases).map(([page, c]) => ({
  page,
  html: readFileSync(`${DIR}pages/${page}`, 'utf8'),
  pageUrl: `http://example.com/parsel/${page}`,
  spec: assertSpec({
    name: 'parsel',
    startUrls: ['http://example.com/'],
    items: c.roots.map((root, r) => ({
      type: `r${r}`,
      selector: root,
      fields: Object.fromEntries(c.selectors.map((selector, f) => [`f${f}`, { selector, all: true }])),
    })),
  }),
}));

/** Every way `result` differs from parsel's values, one line each. */
function differences(run: PageRun, result: ExtractResult): string[] {
  const c = cases[run.page]!;
  const out: string[] = [];
  c.roots.forEach((root, r) => {
    const want = expected[run.page]?.[root];
    assert.ok(want, `expected.json has no ${run.page} / ${root}: run generate.py`);
    const items = result.items.filter((i) => i.type === `r${r}`);
    if (items.length !== want.length) out.push(`${root}: ${items.length} roots, parsel has ${want.length}`);
    want.forEach((values, index) => {
      c.selectors.forEach((selector, f) => {
        const got = items[index]?.data[`f${f}`];
        if (!Object.hasOwn(values, selector)) out.push(`${root} #${index} ${selector}: not in expected.json (run generate.py)`);
        else if (JSON.stringify(got) !== JSON.stringify(values[selector])) {
          out.push(`${root} #${index} ${JSON.stringify(selector)}: ${JSON.stringify(got)}, parsel ${JSON.stringify(values[selector])}`);
        }
      });
    });
  });
  return out;
}

let browser: BrowserExtractor | undefined;
let browserResults: (ExtractResult | { error: string })[] = [];

before(async () => {
  browser = await startBrowserExtractor();
  browserResults = await browser.extractAll(runs);
});

after(async () => {
  await browser?.close();
});

describe('selectors give parsel’s values', () => {
  it('covers every shared form on every page', () => {
    const all = Object.values(cases).flatMap((c) => c.selectors);
    for (const form of ['p ::text', 'p *::text', '::text', '*::text', '::attr(id)', ' > ', ' + ', ' ~ ', ':scope ::text', ':scope > ', ':nth-child(', ':not(', ':has(']) {
      assert.ok(all.some((s) => s.includes(form)), `no case uses "${form}"`);
    }
    assert.ok(Object.keys(cases).length >= 4);
  });

  it('gives the issue’s example: p.m ::text is every text node under it, its own included', () => {
    const html = '<p class="m">one <b>two</b> three</p>';
    const spec = assertSpec({ name: 'x', startUrls: ['http://example.com/'], items: [{ selector: 'body', fields: { t: { selector: 'p.m ::text', all: true } } }] });
    assert.deepStrictEqual(extractHtml(html, spec, 'http://example.com/').items[0]!.data.t, ['one ', 'two', ' three']);
  });

  for (const [i, run] of runs.entries()) {
    it(`cheerio (Node) gives parsel’s values on ${run.page}`, () => {
      assert.deepStrictEqual(differences(run, extractHtml(run.html, run.spec, run.pageUrl)), []);
    });
    it(`DOMParser (Chromium) gives parsel’s values on ${run.page}`, () => {
      const result = browserResults[i];
      assert.ok(result && !('error' in result), `the browser engine failed: ${JSON.stringify(result)}`);
      assert.deepStrictEqual(differences(run, result), []);
    });
  }
});
