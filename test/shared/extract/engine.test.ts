// The engine's semantics, run on the Node adapter (cheerio) for speed; the
// conformance suite checks that the browser adapter gives the same results.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertSpec, type SpecInput } from '../../../shared/spec/schema.ts';
import { extractHtml } from '../../../server/extract/cheerio.ts';
import {
  isLinkFollowable,
  MAX_ITEMS_PER_PAGE,
  MAX_LINKS_PER_PAGE,
  MAX_RESULT_CHARS,
  MAX_VALUE_CHARS,
  MAX_VALUES_PER_FIELD,
  type ExtractOptions,
  type FieldValue,
} from '../../../shared/extract/engine.ts';

const PAGE = 'http://example.com/dir/page.html';

function spec(input: Partial<SpecInput>): ReturnType<typeof assertSpec> {
  return assertSpec({ name: 't', startUrls: ['http://example.com/'], ...input });
}

/** The fields of the first item of a one-rule spec whose item is `itemSelector`. */
function fields(html: string, fieldSpecs: Record<string, unknown>, itemSelector = 'body', pageUrl = PAGE): Record<string, FieldValue> {
  const result = extractHtml(html, spec({ items: [{ selector: itemSelector, fields: fieldSpecs as never }] }), pageUrl);
  const first = result.items[0];
  assert.ok(first, 'no item extracted');
  return first.data;
}

function links(html: string, follow: unknown[], pageUrl = PAGE, options: ExtractOptions = {}, extra: Partial<SpecInput> = {}): string[] {
  return extractHtml(html, spec({ follow: follow as never, ...extra }), pageUrl, options).links;
}

describe('selectors', () => {
  const markup = '<div id=d>Hello <b>big</b> wide <i>world</i>!</div>';

  it('distinguishes ::text, *::text and no pseudo-element on the same markup', () => {
    const data = fields(markup, {
      own: { selector: 'div::text', all: true },
      descendants: { selector: 'div *::text', all: true },
      spaced: { selector: 'div ::text', all: true },
      children: { selector: 'div > *::text', all: true },
      content: { selector: 'div', all: true },
    });
    assert.deepStrictEqual(data.own, ['Hello ', ' wide ', '!']);
    // parsel: `div *::text` and `div ::text` are descendant-or-self::text(), the div's own text included.
    assert.deepStrictEqual(data.descendants, ['Hello ', 'big', ' wide ', 'world', '!']);
    assert.deepStrictEqual(data.spaced, ['Hello ', 'big', ' wide ', 'world', '!']);
    assert.deepStrictEqual(data.children, ['big', 'world']);
    assert.deepStrictEqual(data.content, ['Hello big wide world!']);
  });

  it('returns the text nodes of several selected elements in document order', () => {
    const data = fields('<p>a<b>b<i>c</i>d</b>e</p>', {
      text: { selector: 'p::text, b::text, i::text', all: true },
      reversed: { selector: 'i::text, b::text, p::text', all: true },
    });
    assert.deepStrictEqual(data.text, ['a', 'b', 'c', 'd', 'e']);
    assert.deepStrictEqual(data.reversed, ['a', 'b', 'c', 'd', 'e']);
  });

  // The engine reads elements none of which holds another one after the other,
  // and walks the item root only when one is inside another: both must give
  // the text nodes in document order.
  it('gives ::text in document order whether the selected elements nest or not', () => {
    const html = '<div>0<h2>a<i>x</i>b</h2>1<section><h2>c</h2><p>p<h2>d</h2></p></section><h2>e<h2>f</h2></h2></div>';
    const data = fields(html, {
      own: { selector: 'h2::text', all: true },
      deep: { selector: 'h2 ::text', all: true },
      nestedOwn: { selector: 'div::text, h2::text', all: true },
      nestedDeep: { selector: 'section ::text, p *::text', all: true },
      mixed: { selector: 'section::text, h2 ::text', all: true },
    }, 'div');
    assert.deepStrictEqual(data.own, ['a', 'b', 'c', 'd', 'e', 'f']);
    assert.deepStrictEqual(data.deep, ['a', 'x', 'b', 'c', 'd', 'e', 'f']);
    assert.deepStrictEqual(data.nestedOwn, ['0', 'a', 'b', '1', 'c', 'd', 'e', 'f']);
    assert.deepStrictEqual(data.nestedDeep, ['c', 'p', 'd']);
    assert.deepStrictEqual(data.mixed, ['a', 'x', 'b', 'c', 'd', 'e', 'f']);
  });

  it('stops at MAX_VALUES_PER_FIELD text nodes whether the selected elements nest or not', () => {
    const many = '<b>v<i>w</i></b>'.repeat(MAX_VALUES_PER_FIELD);
    const data = fields(`<div>${many}</div>`, {
      own: { selector: 'b::text, i::text', all: true },
      deep: { selector: 'b ::text', all: true },
      nested: { selector: 'div::text, b::text, i::text', all: true },
    });
    for (const name of ['own', 'deep', 'nested']) {
      const values = data[name] as string[];
      assert.equal(values.length, MAX_VALUES_PER_FIELD, name);
      assert.deepStrictEqual(values.slice(0, 4), ['v', 'w', 'v', 'w'], name);
    }
  });

  it('reads the item root itself with a bare ::text, ::attr() or an empty selector', () => {
    const data = fields('<a href="/x" title=t>link <b>bold</b></a>', { text: '::text', href: '::attr(href)', title: '::attr(TITLE)', content: '' }, 'a');
    assert.deepStrictEqual(data, { text: 'link ', href: '/x', title: 't', content: 'link bold' });
  });

  it('reads all the root\'s text with a bare ::text and every element\'s attribute with a bare ::attr(), as parsel does', () => {
    const data = fields('<a href="/x" id=r>link <b id=in>bold</b></a>', {
      text: { selector: '::text', all: true },
      own: { selector: ':scope::text', all: true },
      ids: { selector: '::attr(id)', all: true },
      rootId: { selector: ':scope::attr(id)', all: true },
    }, 'a');
    assert.deepStrictEqual(data, { text: ['link ', 'bold'], own: ['link '], ids: ['r', 'in'], rootId: ['r'] });
  });

  it('lets the first compound of a field selector be the item root itself, as parsel does', () => {
    const html = '<section><span>in</span><div><span>deep</span></div></section><div><span>out</span></div>';
    const data = fields(html, {
      sectionSpan: { selector: 'section span::text', all: true },
      sectionOwn: { selector: 'section::text', all: true },
      sectionChild: { selector: 'section > span::text', all: true },
      sectionNext: { selector: 'section + div span::text', all: true },
    }, 'section');
    assert.deepStrictEqual(data, { sectionSpan: ['in', 'deep'], sectionOwn: [], sectionChild: ['in'], sectionNext: [] });
  });

  it('gives ::attr() only for the selected elements that have the attribute', () => {
    const data = fields('<a href=1>x</a><a>y</a><a href="">z</a>', { hrefs: { selector: 'a::attr(href)', all: true } });
    assert.deepStrictEqual(data.hrefs, ['1', '']);
  });

  it('keeps white space exactly and decodes entities', () => {
    const data = fields('<p>  a &amp;\n\tb&nbsp;</p>', { p: 'p::text' });
    assert.equal(data.p, '  a &\n\tb\u00a0');
  });

  it('matches field selectors inside the item only, the whole selector included', () => {
    const html = '<div class=outer><section><span>in</span><div><span>deep</span></div></section><span>out</span></div>';
    const data = fields(html, {
      divSpan: { selector: 'div span::text', all: true },
      outerSpan: { selector: '.outer span::text', all: true },
      span: { selector: 'span::text', all: true },
      child: { selector: '> span::text', all: true },
      scopeChild: { selector: ':scope > span::text', all: true },
      sibling: { selector: '+ span::text', all: true },
      general: { selector: '~ span::text', all: true },
    }, 'section');
    assert.deepStrictEqual(data, {
      divSpan: ['deep'],
      outerSpan: [],
      span: ['in', 'deep'],
      child: ['in'],
      scopeChild: ['in'],
      sibling: [],
      general: [],
    });
  });

  it('matches item selectors against the whole document, a leading ">" meaning a child of the document', () => {
    const html = '<div><p>one</p></div><p>two</p>';
    const result = extractHtml(html, spec({
      items: [
        { type: 'rooted', selector: '> html > body > p', fields: { t: '::text' } },
        { type: 'scoped', selector: ':scope > body > div > p', fields: { t: '::text' } },
        { type: 'none', selector: '~ p', fields: { t: '::text' } },
      ],
    }), PAGE);
    assert.deepStrictEqual(result.items, [
      { type: 'rooted', data: { t: 'two' } },
      { type: 'scoped', data: { t: 'one' } },
    ]);
  });

  it('does not see inside <template> and parses <noscript> content as elements', () => {
    const html = '<template><p class=x>hidden</p></template><noscript><p class=x>shown</p></noscript><div>a<template>b</template>c</div>';
    const data = fields(html, { x: { selector: '.x::text', all: true }, div: 'div' });
    assert.deepStrictEqual(data, { x: ['shown'], div: 'ac' });
  });

  it('counts script and style text as text content, but not comments', () => {
    const data = fields('<div>a<!-- c --><script>s</script><style>t</style>b</div>', { div: 'div' });
    assert.equal(data.div, 'astb');
  });
});

describe('fields', () => {
  const html = '<ul><li>one</li><li>two</li></ul>';

  it('gives the first value, or the default when nothing matched', () => {
    const data = fields(html, {
      first: 'li::text',
      missing: 'ol::text',
      missingWithDefault: { selector: 'ol::text', default: 'none' },
    });
    assert.deepStrictEqual(data, { first: 'one', missing: null, missingWithDefault: 'none' });
  });

  it('gives every value with all, an empty list or [default] when nothing matched', () => {
    const data = fields(html, {
      all: { selector: 'li::text', all: true },
      none: { selector: 'ol::text', all: true },
      noneWithDefault: { selector: 'ol::text', all: true, default: '-' },
    });
    assert.deepStrictEqual(data, { all: ['one', 'two'], none: [], noneWithDefault: ['-'] });
  });

  it('runs processors over every value before taking the first, like re_first', () => {
    const data = fields('<p>no digits</p><p>item 42</p><p>item 7</p>', {
      first: { selector: 'p::text', process: [{ regex: '\\d+' }] },
      all: { selector: 'p::text', all: true, process: [{ regex: '\\d+' }] },
    });
    assert.deepStrictEqual(data, { first: '42', all: ['42', '7'] });
  });
});

describe('processors', () => {
  function processed(text: string, process: unknown[], all = false, pageUrl = PAGE, extraHtml = ''): FieldValue {
    const html = `${extraHtml}${text.split('|').map((t) => `<p>${t}</p>`).join('')}`;
    return fields(html, { v: { selector: 'p::text', all, process } }, 'body', pageUrl).v!;
  }

  it('trims, normalizes white space (Unicode spaces too) and changes case', () => {
    assert.equal(processed('  a  b  ', ['trim']), 'a  b');
    assert.equal(processed(' a \u00a0\u3000 b\n\tc ', ['normalizeWhitespace']), 'a b c');
    assert.equal(processed('ÄbC ß', ['lowercase']), 'äbc ß');
    assert.equal(processed('ÄbC ß', ['uppercase']), 'ÄBC SS');
  });

  it('resolves URLs against the page and <base href>, dropping unusable ones', () => {
    assert.deepStrictEqual(processed('a.html|/b#frag|javascript:x()|mailto:a@b.c|//cdn.example.org/c', ['absoluteUrl'], true), [
      'http://example.com/dir/a.html',
      'http://example.com/b',
      'http://cdn.example.org/c',
    ]);
    assert.equal(processed('a.html', ['absoluteUrl'], false, PAGE, '<base href="/base/">'), 'http://example.com/base/a.html');
  });

  it('takes group 1 of a regex that has a group, else the whole match; named and numbered groups on request', () => {
    assert.equal(processed('price: $12.50', [{ regex: '\\$(\\d+)' }]), '12');
    assert.equal(processed('price: $12.50', [{ regex: '\\$\\d+' }]), '$12');
    assert.equal(processed('2024-03-15', [{ regex: '(\\d+)-(\\d+)', group: 2 }]), '03');
    assert.equal(processed('2024-03-15', [{ regex: '(\\d+)-(\\d+)', group: 0 }]), '2024-03');
    assert.equal(processed('2024-03-15', [{ regex: '(?<year>\\d{4})-(?<month>\\d\\d)', group: 'month' }]), '03');
    assert.equal(processed('ABC', [{ regex: 'b', flags: 'i' }]), 'B');
    assert.equal(processed('ac', [{ regex: 'a(b)?c' }]), '');
  });

  it('drops values a regex does not match', () => {
    assert.deepStrictEqual(processed('a1|b|c2', [{ regex: '\\d' }], true), ['1', '2']);
    assert.equal(processed('abc', [{ regex: 'x' }]), null);
  });

  it('replaces every match, with $-references and flags', () => {
    assert.equal(processed('1,234,567', [{ replace: ',' }]), '1234567');
    assert.equal(processed('ab-12 cd-34', [{ replace: '(\\w+)-(\\d+)', with: '$2:$1' }]), '12:ab 34:cd');
    assert.equal(processed('aAa', [{ replace: 'a', with: 'x', flags: 'i' }]), 'xxx');
  });

  it('joins every value into one, which later processors then see alone', () => {
    assert.deepStrictEqual(processed(' a | b | c ', ['trim', { join: ',' }, 'uppercase'], true), ['A,B,C']);
    assert.equal(processed('x|y', [{ join: '' }, { regex: 'xy' }]), 'xy');
    assert.equal(fields('<p>x</p>', { v: { selector: 'b::text', process: [{ join: ',' }], default: 'd' } }).v, 'd');
  });
});

describe('item rules', () => {
  const html = '<article><h2>A</h2></article><article><h2>B</h2></article><aside>ad</aside>';

  it('makes one item per selected element, rules in spec order, elements in document order', () => {
    const result = extractHtml(html, spec({
      items: [
        { type: 'ad', selector: 'aside', fields: { text: '::text' } },
        { type: 'post', selector: 'article', fields: { title: 'h2::text' } },
      ],
    }), PAGE);
    assert.deepStrictEqual(result.items, [
      { type: 'ad', data: { text: 'ad' } },
      { type: 'post', data: { title: 'A' } },
      { type: 'post', data: { title: 'B' } },
    ]);
  });

  it('applies a rule only on pages whose URL matches its urlPatterns', () => {
    const rules = spec({
      items: [
        { type: 'glob', selector: 'article', urlPatterns: ['http://example.com/posts/*'], fields: { t: 'h2::text' } },
        { type: 'regex', selector: 'aside', urlPatterns: [{ regex: '/ads/\\d+$' }], fields: { t: '::text' } },
      ],
    });
    assert.deepStrictEqual(extractHtml(html, rules, 'http://example.com/posts/1').items.map((i) => i.type), ['glob', 'glob']);
    assert.deepStrictEqual(extractHtml(html, rules, 'http://example.com/ads/7').items.map((i) => i.type), ['regex']);
    assert.deepStrictEqual(extractHtml(html, rules, 'http://example.com/posts/1/comments').items, []);
  });
});

describe('follow rules', () => {
  const html = [
    '<nav><a href="/a">a</a><a href="/b?y=2&x=1">b</a></nav>',
    '<main><a href="/c#top">c</a><a href="/b?x=1&y=2">b again</a><span data-href="/d">d</span></main>',
    '<a href="http://other.example.org/e">e</a><a href="http://sub.example.com/f">f</a>',
    '<a href="mailto:x@example.com">mail</a><map><area href="/g"></map>',
  ].join('');

  it('takes every a[href] and area[href] when a rule has no selector, deduplicated by urlKey in first-seen order', () => {
    assert.deepStrictEqual(links(html, [{ scope: 'any' }]), [
      'http://example.com/a',
      'http://example.com/b?y=2&x=1',
      'http://example.com/c',
      'http://other.example.org/e',
      'http://sub.example.com/f',
      'http://example.com/g',
    ]);
  });

  it('follows nothing when the spec has no follow rules', () => {
    assert.deepStrictEqual(links(html, []), []);
  });

  it('takes link elements, the links inside region elements, or an attribute', () => {
    assert.deepStrictEqual(links(html, [{ selector: 'nav a' }]), ['http://example.com/a', 'http://example.com/b?y=2&x=1']);
    assert.deepStrictEqual(links(html, [{ selector: 'main' }]), ['http://example.com/c', 'http://example.com/b?x=1&y=2']);
    assert.deepStrictEqual(links(html, [{ selector: 'span::attr(data-href)' }]), ['http://example.com/d']);
  });

  it('keeps links that match allow (glob or regex) and no deny pattern', () => {
    assert.deepStrictEqual(links(html, [{ allow: ['http://example.com/?'] }]), ['http://example.com/a', 'http://example.com/c', 'http://example.com/g']);
    assert.deepStrictEqual(links(html, [{ allow: [{ regex: '[?&]x=1' }] }]), ['http://example.com/b?y=2&x=1']);
    assert.deepStrictEqual(links(html, [{ deny: ['**/b*', { regex: '/[cg]$' }] }]), ['http://example.com/a']);
  });

  it('keeps links in the rule scope', () => {
    assert.deepStrictEqual(links(html, [{ selector: 'a[href*=example]', scope: 'sameDomain' }]), [
      'http://sub.example.com/f',
    ]);
    assert.deepStrictEqual(links(html, [{ scope: { domains: ['example.org'] } }]), ['http://other.example.org/e']);
    assert.equal(links(html, [{}]).length, 4, 'sameHost is the default');
  });

  it('stops at the rule maxDepth and the spec limits.maxDepth', () => {
    assert.equal(links(html, [{ maxDepth: 2 }], PAGE, { depth: 1 }).length, 4);
    assert.deepStrictEqual(links(html, [{ maxDepth: 2 }], PAGE, { depth: 2 }), []);
    assert.deepStrictEqual(links(html, [{}], PAGE, { depth: 3 }, { limits: { maxDepth: 3 } }), []);
    assert.equal(links(html, [{}], PAGE, { depth: 2 }, { limits: { maxDepth: 3 } }).length, 4);
  });

  it('applies a rule only on pages matching its urlPatterns, and lets a later rule allow what an earlier one refused', () => {
    const rules = [
      { urlPatterns: ['**/list/**'], selector: 'nav a' },
      { selector: 'main', deny: ['**/c'] },
      { selector: 'a', allow: ['**/c'] },
    ];
    assert.deepStrictEqual(links(html, rules), ['http://example.com/b?x=1&y=2', 'http://example.com/c']);
    assert.deepStrictEqual(links(html, rules, 'http://example.com/list/1').slice(0, 2), ['http://example.com/a', 'http://example.com/b?y=2&x=1']);
  });

  it('re-checks a reported link against the rules that apply on its page', () => {
    const rules = spec({
      follow: [{ urlPatterns: ['**/list/**'], allow: ['**/item/*'], maxDepth: 2 }],
    });
    assert.equal(isLinkFollowable(rules, 'http://example.com/list/1', 'http://example.com/item/9', 0), true);
    assert.equal(isLinkFollowable(rules, 'http://example.com/list/1', 'http://example.com/item/9#x', 1), true);
    assert.equal(isLinkFollowable(rules, 'http://example.com/list/1', 'http://example.com/item/9', 2), false);
    assert.equal(isLinkFollowable(rules, 'http://example.com/other', 'http://example.com/item/9', 0), false);
    assert.equal(isLinkFollowable(rules, 'http://example.com/list/1', 'http://other.org/item/9', 0), false);
    assert.equal(isLinkFollowable(rules, 'http://example.com/list/1', 'javascript:alert(1)', 0), false);
  });
});

describe('limits', () => {
  it('keeps at most MAX_ITEMS_PER_PAGE items and MAX_LINKS_PER_PAGE links', () => {
    const count = MAX_ITEMS_PER_PAGE + 50;
    const html = Array.from({ length: count }, (_, i) => `<p><a href="/p/${i}">${i}</a></p>`).join('');
    const result = extractHtml(html, spec({ items: [{ selector: 'p', fields: { n: 'a::text' } }], follow: [{}] }), PAGE);
    assert.equal(result.items.length, MAX_ITEMS_PER_PAGE);
    assert.equal(result.items.at(-1)!.data.n, String(MAX_ITEMS_PER_PAGE - 1));
    assert.equal(result.links.length, MAX_LINKS_PER_PAGE);
  });

  it('cuts long values without splitting a surrogate pair', () => {
    const long = `${'x'.repeat(MAX_VALUE_CHARS - 1)}😀tail`;
    const data = fields(`<p title="${long}">${long}</p>`, { attr: 'p::attr(title)', text: 'p::text', content: 'p' });
    assert.equal(data.attr, 'x'.repeat(MAX_VALUE_CHARS - 1));
    assert.equal(data.text, 'x'.repeat(MAX_VALUE_CHARS - 1));
    assert.equal(data.content, 'x'.repeat(MAX_VALUE_CHARS - 1));
  });

  it('returns at most MAX_VALUES_PER_FIELD values for a field', () => {
    const html = '<b>v</b>'.repeat(MAX_VALUES_PER_FIELD + 10);
    assert.equal((fields(html, { v: { selector: 'b::text', all: true } }).v as string[]).length, MAX_VALUES_PER_FIELD);
  });

  it('drops the items past MAX_RESULT_CHARS', () => {
    const itemChars = MAX_VALUE_CHARS;
    const html = `<p>${'y'.repeat(itemChars)}</p>`.repeat(Math.floor(MAX_RESULT_CHARS / itemChars) + 5);
    const result = extractHtml(html, spec({ items: [{ selector: 'p', fields: { t: '::text' } }] }), PAGE);
    assert.equal(result.items.length, Math.floor(MAX_RESULT_CHARS / itemChars));
  });

  it('never throws on empty or broken markup', () => {
    const everything = spec({ items: [{ selector: 'p', fields: { t: '::text' } }], follow: [{}] });
    for (const html of ['', '<', '<<<>>>', '</p>', '\u0000', '<a href="http://[bad">x</a>']) {
      assert.deepStrictEqual(extractHtml(html, everything, PAGE), { items: [], links: [] });
    }
    // An unparsable <base href> is ignored, as browsers do.
    assert.deepStrictEqual(extractHtml('<base href="http://[bad"><a href="x">x</a>', everything, PAGE).links, ['http://example.com/dir/x']);
  });
});
