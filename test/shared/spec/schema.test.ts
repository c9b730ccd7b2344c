import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertSpec, jsonPath, parseSpec, SpecError, type SpecInput } from '../../../shared/spec/schema.ts';

const QUOTES_SPEC_JSON = `{
  "name": "quotes",
  "startUrls": ["http://quotes.toscrape.com/page/1/"],
  "items": [{ "selector": "div.quote", "fields": { "text": "span.text::text", "author": "span small::text" } }],
  "follow": [{ "selector": "li.next a::attr(href)" }]
}`;

/** A fresh, valid spec as JSON.parse gives it (untyped: the invalid cases write wrong values into it). */
function quotesSpec(): any {
  return JSON.parse(QUOTES_SPEC_JSON);
}

describe('parseSpec on valid specs', () => {
  test('accepts the quotes spec and fills in every default', () => {
    const result = parseSpec(quotesSpec());
    assert.equal(result.ok, true, JSON.stringify(result));
    if (!result.ok) return;
    assert.deepEqual(result.spec, {
      name: 'quotes',
      version: 1,
      startUrls: ['http://quotes.toscrape.com/page/1/'],
      items: [
        {
          type: 'item',
          selector: 'div.quote',
          fields: {
            text: { selector: 'span.text::text', all: false, default: null, process: [] },
            author: { selector: 'span small::text', all: false, default: null, process: [] },
          },
          urlPatterns: [],
        },
      ],
      follow: [{ selector: 'li.next a::attr(href)', urlPatterns: [], allow: [], deny: [], scope: 'sameHost' }],
      limits: {},
      politeness: {
        obeyRobotsTxt: true,
        perHostConcurrency: 8,
        perHostDelayMs: 0,
        userAgent: 'crowdcrawl/0.1',
        autoThrottle: { enabled: true, maxDelayMs: 60_000 },
      },
    });
  });

  test('accepts a spec with only a name and start URLs', () => {
    const spec = assertSpec({ name: 'bare', startUrls: ['https://example.com/'] });
    assert.deepEqual(spec.items, []);
    assert.deepEqual(spec.follow, []);
  });

  test('accepts a spec that uses every feature and keeps what it says', () => {
    const input: SpecInput = {
      name: 'Every_feature.v2-test',
      version: 7,
      startUrls: ['https://shop.example.com/', 'http://127.0.0.1:8080/catalogue?page=1'],
      items: [
        {
          type: 'product',
          selector: 'article.product, li.product:not(.ad)',
          urlPatterns: ['https://shop.example.com/item/**', { regex: '/item/\\d+$', flags: 'i' }],
          fields: {
            title: 'h1::text',
            link: { selector: 'a.more::attr(href)', process: ['absoluteUrl'] },
            price: {
              selector: '.price::text',
              default: '0',
              process: ['trim', { regex: '(?<amount>[\\d.]+)', group: 'amount' }, { replace: ',', with: '.' }],
            },
            tags: { selector: 'ul.tags > li:nth-child(odd)::text', all: true, process: ['normalizeWhitespace', 'lowercase', { join: ', ' }] },
            code: { selector: 'span.sku::text', process: ['uppercase', { regex: 'SKU-(\\d+)', flags: 'i', group: 1 }] },
            _raw: { selector: '', all: false },
            'data-id': '::attr(data-id)',
          },
        },
        { selector: 'table tr:has(td)', fields: { cells: { selector: 'td::text', all: true } } },
      ],
      follow: [
        { selector: 'nav a', scope: 'sameDomain', maxDepth: 3, allow: ['**/category/*'], deny: [{ regex: 'logout|\\?sort=' }] },
        { urlPatterns: ['https://shop.example.com/**'], scope: { domains: ['example.com', 'cdn.example.net'] } },
        { selector: 'link[rel=next]::attr(href)', scope: 'any' },
        { selector: 'a.same', scope: 'sameHost' },
      ],
      limits: { maxPages: 5000, maxDepth: 10, maxDurationMs: 3_600_000 },
      politeness: { obeyRobotsTxt: false, perHostConcurrency: 2, perHostDelayMs: 1500, userAgent: 'Mozilla/5.0 (compatible; crowdcrawl-test/1.0; +https://example.com/bot)' },
    };
    const result = parseSpec(input);
    assert.equal(result.ok, true, JSON.stringify(result));
    if (!result.ok) return;
    const { spec } = result;
    assert.equal(spec.version, 7);
    assert.equal(spec.items[0]?.type, 'product');
    assert.equal(spec.items[1]?.type, 'item');
    assert.deepEqual(spec.items[0]?.fields.price?.process, [
      'trim',
      { regex: '(?<amount>[\\d.]+)', group: 'amount' },
      { replace: ',', with: '.' },
    ]);
    assert.deepEqual(spec.items[0]?.fields.title, { selector: 'h1::text', all: false, default: null, process: [] });
    assert.equal(spec.items[0]?.fields.tags?.all, true);
    assert.deepEqual(spec.follow[1]?.scope, { domains: ['example.com', 'cdn.example.net'] });
    assert.equal(spec.follow[0]?.maxDepth, 3);
    assert.equal(spec.follow[1]?.selector, undefined);
    assert.deepEqual(spec.limits, { maxPages: 5000, maxDepth: 10, maxDurationMs: 3_600_000 });
    assert.equal(spec.politeness.perHostDelayMs, 1500);
    assert.equal(spec.politeness.obeyRobotsTxt, false);
  });

  test('fills in the politeness defaults a partial politeness object leaves out', () => {
    const spec = assertSpec({ ...quotesSpec(), politeness: { perHostDelayMs: 250 } });
    assert.deepEqual(spec.politeness, {
      obeyRobotsTxt: true,
      perHostConcurrency: 8,
      perHostDelayMs: 250,
      userAgent: 'crowdcrawl/0.1',
      autoThrottle: { enabled: true, maxDelayMs: 60_000 },
    });
  });

  test('leaves retry and sitemaps out when the spec does not name them (the hub supplies retry defaults)', () => {
    const spec = assertSpec(quotesSpec());
    assert.equal(spec.retry, undefined);
    assert.equal(spec.sitemaps, undefined);
  });

  test('accepts AutoThrottle settings and fills in the ones left out', () => {
    const spec = assertSpec({ ...quotesSpec(), politeness: { autoThrottle: { targetConcurrency: 1.5 } } });
    assert.deepEqual(spec.politeness.autoThrottle, { enabled: true, targetConcurrency: 1.5, maxDelayMs: 60_000 });
    const off = assertSpec({ ...quotesSpec(), politeness: { autoThrottle: { enabled: false } } });
    assert.equal(off.politeness.autoThrottle.enabled, false);
  });

  test('accepts per-crawl retry settings, each optional', () => {
    const spec = assertSpec({ ...quotesSpec(), retry: { maxAttempts: 10 } });
    assert.deepEqual(spec.retry, { maxAttempts: 10 });
    const full = assertSpec({ ...quotesSpec(), retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 5000 } });
    assert.deepEqual(full.retry, { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 5000 });
  });

  test('accepts sitemaps as a start source and fills in their defaults', () => {
    const spec = assertSpec({ ...quotesSpec(), sitemaps: { urls: ['http://quotes.toscrape.com/sitemap.xml.gz'] } });
    assert.deepEqual(spec.sitemaps, {
      urls: ['http://quotes.toscrape.com/sitemap.xml.gz'],
      fromRobotsTxt: false,
      scope: 'sameHost',
      allow: [],
      deny: [],
      maxUrls: 1_000_000,
    });
    const fromRobots = assertSpec({ ...quotesSpec(), sitemaps: { fromRobotsTxt: true, scope: 'sameDomain', deny: ['**/tag/**'] } });
    assert.equal(fromRobots.sitemaps?.fromRobotsTxt, true);
    assert.deepEqual(fromRobots.sitemaps?.urls, []);
  });
});

interface InvalidCase {
  readonly behaviour: string;
  readonly spoil: (spec: any) => void;
  readonly path: string;
  readonly reason: string;
}

const invalidCases: readonly InvalidCase[] = [
  { behaviour: 'refuses an AutoThrottle target concurrency of 0', spoil: (s) => { s.politeness = { autoThrottle: { targetConcurrency: 0 } }; }, path: '$.politeness.autoThrottle.targetConcurrency', reason: 'expected number to be >=0.1' },
  { behaviour: 'refuses an unknown AutoThrottle setting', spoil: (s) => { s.politeness = { autoThrottle: { startDelay: 5 } }; }, path: '$.politeness.autoThrottle', reason: 'Unrecognized key: "startDelay"' },
  { behaviour: 'refuses a retry maximum of 0 attempts', spoil: (s) => { s.retry = { maxAttempts: 0 }; }, path: '$.retry.maxAttempts', reason: 'expected number to be >=1' },
  { behaviour: 'refuses a sitemap URL that is not http(s)', spoil: (s) => { s.sitemaps = { urls: ['ftp://example.com/sitemap.xml'] }; }, path: '$.sitemaps.urls[0]', reason: 'only http and https URLs can be crawled' },
  { behaviour: 'refuses a sitemap scope that is not one of the scopes', spoil: (s) => { s.sitemaps = { scope: 'everywhere' }; }, path: '$.sitemaps.scope', reason: 'expected one of' },
  { behaviour: 'refuses a spec without a name', spoil: (s) => { delete s.name; }, path: '$.name', reason: 'expected string' },
  { behaviour: 'refuses a name with spaces or a leading dash', spoil: (s) => { s.name = '-my spider'; }, path: '$.name', reason: 'starting with a letter or digit' },
  { behaviour: 'refuses an empty list of start URLs', spoil: (s) => { s.startUrls = []; }, path: '$.startUrls', reason: 'at least one start URL' },
  { behaviour: 'refuses a start URL that is not http(s)', spoil: (s) => { s.startUrls.push('ftp://example.com/'); }, path: '$.startUrls[1]', reason: 'only http and https' },
  { behaviour: 'refuses a start URL that does not parse', spoil: (s) => { s.startUrls = ['quotes.toscrape.com/page/1/']; }, path: '$.startUrls[0]', reason: 'not an absolute URL' },
  { behaviour: 'refuses a start URL with credentials', spoil: (s) => { s.startUrls = ['http://user:pw@example.com/']; }, path: '$.startUrls[0]', reason: 'credentials' },
  { behaviour: 'refuses start URLs given as a string instead of an array', spoil: (s) => { s.startUrls = 'http://quotes.toscrape.com/'; }, path: '$.startUrls', reason: 'expected array, received string' },
  { behaviour: 'refuses an unknown top-level key', spoil: (s) => { s.start_urls = []; }, path: '$', reason: 'Unrecognized key: "start_urls"' },
  { behaviour: 'refuses an item selector ending in ::text', spoil: (s) => { s.items[0].selector = 'div.quote::text'; }, path: '$.items[0].selector', reason: 'an item selector selects elements' },
  { behaviour: 'refuses an empty item selector', spoil: (s) => { s.items[0].selector = '  '; }, path: '$.items[0].selector', reason: 'must not be empty' },
  { behaviour: 'refuses invalid CSS in a field', spoil: (s) => { s.items[0].fields.text = 'span[class'; }, path: '$.items[0].fields.text', reason: 'invalid CSS selector' },
  { behaviour: 'refuses a pseudo-class that browsers and Node disagree on (:contains)', spoil: (s) => { s.items[0].fields.text = 'span:contains("x")::text'; }, path: '$.items[0].fields.text', reason: 'pseudo-class ":contains" is not supported' },
  { behaviour: 'refuses an unknown pseudo-element', spoil: (s) => { s.items[0].fields.text = 'span::before'; }, path: '$.items[0].fields.text', reason: 'unknown pseudo-element "::before"' },
  { behaviour: 'refuses a selector list mixing pseudo-elements', spoil: (s) => { s.items[0].fields.text = 'span::text, a::attr(href)'; }, path: '$.items[0].fields.text', reason: 'must end in the same pseudo-element' },
  { behaviour: 'refuses a pseudo-element in an object field', spoil: (s) => { s.items[0].fields.text = { selector: 'p::after', all: true }; }, path: '$.items[0].fields.text.selector', reason: 'unknown pseudo-element' },
  { behaviour: 'refuses the field name __proto__ from JSON', spoil: (s) => { s.items[0].fields = JSON.parse('{ "__proto__": "span::text", "text": "span::text" }'); }, path: '$.items[0].fields.__proto__', reason: 'reserved field name' },
  { behaviour: 'refuses the field name constructor', spoil: (s) => { s.items[0].fields.constructor = 'span::text'; }, path: '$.items[0].fields.constructor', reason: 'reserved field name' },
  { behaviour: 'refuses a field name starting with a digit', spoil: (s) => { s.items[0].fields['1st'] = 'span::text'; }, path: '$.items[0].fields["1st"]', reason: 'field names start with a letter or _' },
  { behaviour: 'refuses an item with no fields', spoil: (s) => { s.items[0].fields = {}; }, path: '$.items[0].fields', reason: 'at least one field' },
  { behaviour: 'refuses a field option of the wrong type', spoil: (s) => { s.items[0].fields.text = { selector: 'p::text', all: 'yes' }; }, path: '$.items[0].fields.text.all', reason: 'expected boolean' },
  { behaviour: 'refuses a regex processor with an invalid regex', spoil: (s) => { s.items[0].fields.text = { selector: 'p::text', process: [{ regex: '(\\d+' }] }; }, path: '$.items[0].fields.text.process[0].regex', reason: 'invalid regex' },
  { behaviour: 'refuses a replace processor with an invalid regex', spoil: (s) => { s.items[0].fields.text = { selector: 'p::text', process: ['trim', { replace: '[a-', with: '' }] }; }, path: '$.items[0].fields.text.process[1].replace', reason: 'invalid regex' },
  { behaviour: 'refuses an unknown processor and lists the known ones', spoil: (s) => { s.items[0].fields.text = { selector: 'p::text', process: ['reverse'] }; }, path: '$.items[0].fields.text.process[0]', reason: 'expected one of "trim", "normalizeWhitespace"' },
  { behaviour: 'refuses an unknown key in a processor', spoil: (s) => { s.items[0].fields.text = { selector: 'p::text', process: [{ regex: 'x', group: 1, flag: 'i' }] }; }, path: '$.items[0].fields.text.process[0]', reason: 'Unrecognized key: "flag"' },
  { behaviour: 'refuses a follow selector ending in ::text', spoil: (s) => { s.follow[0].selector = 'li.next a::text'; }, path: '$.follow[0].selector', reason: 'not ::text' },
  { behaviour: 'refuses a glob with an unclosed bracket', spoil: (s) => { s.follow[0].allow = ['http://quotes.toscrape.com/[page']; }, path: '$.follow[0].allow[0]', reason: 'invalid glob' },
  { behaviour: 'refuses an invalid regex pattern', spoil: (s) => { s.follow[0].deny = [{ regex: '*login' }]; }, path: '$.follow[0].deny[0]', reason: 'invalid regex' },
  { behaviour: 'refuses regex pattern flags other than i, m, s, u', spoil: (s) => { s.items[0].urlPatterns = [{ regex: 'page', flags: 'g' }]; }, path: '$.items[0].urlPatterns[0]', reason: 'flags may only be i, m, s, u' },
  { behaviour: 'refuses an unknown scope and lists the valid ones', spoil: (s) => { s.follow[0].scope = 'sameSite'; }, path: '$.follow[0].scope', reason: 'expected one of "sameHost", "sameDomain", "any" or an object' },
  { behaviour: 'refuses a domains scope with something that is not a host name', spoil: (s) => { s.follow[0].scope = { domains: ['https://example.com/'] }; }, path: '$.follow[0].scope.domains[0]', reason: 'a host name' },
  { behaviour: 'refuses a negative maxPages', spoil: (s) => { s.limits = { maxPages: -5 }; }, path: '$.limits.maxPages', reason: 'expected number to be >=1' },
  { behaviour: 'refuses a maxDepth that is not an integer', spoil: (s) => { s.limits = { maxDepth: 2.5 }; }, path: '$.limits.maxDepth', reason: 'expected int' },
  { behaviour: 'refuses a follow maxDepth that is not an integer', spoil: (s) => { s.follow[0].maxDepth = 1.5; }, path: '$.follow[0].maxDepth', reason: 'expected int' },
  { behaviour: 'refuses a perHostConcurrency of 0', spoil: (s) => { s.politeness = { perHostConcurrency: 0 }; }, path: '$.politeness.perHostConcurrency', reason: 'expected number to be >=1' },
  { behaviour: 'refuses a user agent that is not printable ASCII', spoil: (s) => { s.politeness = { userAgent: 'crawlér/1.0' }; }, path: '$.politeness.userAgent', reason: 'printable ASCII only' },
  { behaviour: 'refuses a version of 0', spoil: (s) => { s.version = 0; }, path: '$.version', reason: 'expected number to be >=1' },
];

describe('parseSpec on invalid specs', () => {
  for (const c of invalidCases) {
    test(`${c.behaviour} at ${c.path}`, () => {
      const spec = quotesSpec();
      c.spoil(spec);
      const result = parseSpec(spec);
      assert.equal(result.ok, false, `${c.behaviour}: the spec was accepted`);
      if (result.ok) return;
      const shown = JSON.stringify(result.issues);
      assert.ok(result.issues.length > 0);
      for (const issue of result.issues) assert.equal(issue.path, c.path, shown);
      assert.ok(result.issues.some((i) => i.message.includes(c.reason)), `expected "${c.reason}" in ${shown}`);
    });
  }

  test('refuses a spec that is not an object, at the root', () => {
    for (const input of [null, 'quotes', 42, []]) {
      const result = parseSpec(input);
      assert.equal(result.ok, false);
      if (result.ok) continue;
      assert.equal(result.issues[0]?.path, '$');
      assert.match(result.issues[0]!.message, /expected object/);
    }
  });
});

describe('assertSpec', () => {
  test('returns the spec with defaults when it is valid', () => {
    assert.equal(assertSpec(quotesSpec()).politeness.userAgent, 'crowdcrawl/0.1');
  });

  test('throws a SpecError that lists every issue', () => {
    const spec = quotesSpec();
    spec.name = 'my spider';
    spec.startUrls = ['mailto:a@example.com'];
    spec.follow[0].scope = 'everywhere';
    assert.throws(
      () => assertSpec(spec),
      (error: unknown) => {
        assert.ok(error instanceof SpecError);
        assert.equal(error.code, 'SPEC_INVALID');
        assert.equal(error.name, 'SpecError');
        assert.deepEqual(
          error.issues.map((i) => i.path),
          ['$.name', '$.startUrls[0]', '$.follow[0].scope'],
        );
        for (const path of ['$.name', '$.startUrls[0]', '$.follow[0].scope']) assert.ok(error.message.includes(`  ${path}: `), error.message);
        return true;
      },
    );
  });
});

describe('jsonPath', () => {
  test('writes identifiers with dots, indexes in brackets and other keys quoted', () => {
    assert.equal(jsonPath([]), '$');
    assert.equal(jsonPath(['items', 0, 'fields', 'data-id', 'process', 2]), '$.items[0].fields["data-id"].process[2]');
  });
});
