import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { memoizeString } from '../../../shared/url/memo.ts';
import { normalizeUrl, resolveLink, linkResolver, urlKey } from '../../../shared/url/canonical.ts';
import { isInScope, registrableDomain } from '../../../shared/url/scope.ts';

describe('memoizeString', () => {
  test('computes each input once while it is kept, null and undefined results included', () => {
    const calls: string[] = [];
    const memo = memoizeString((input: string) => {
      calls.push(input);
      return input === 'none' ? null : input === 'undef' ? undefined : input.length;
    }, 10);
    for (let round = 0; round < 3; round++) {
      assert.equal(memo('abc'), 3);
      assert.equal(memo('none'), null);
      assert.equal(memo('undef'), undefined);
    }
    assert.deepEqual(calls, ['abc', 'none', 'undef']);
    assert.equal(memo.size, 3);
  });

  test('never holds more than its bound: when full it starts over', () => {
    let calls = 0;
    const memo = memoizeString((input: string) => {
      calls++;
      return input.toUpperCase();
    }, 4);
    for (let i = 0; i < 100; i++) {
      assert.equal(memo(`k${i}`), `K${i}`);
      assert.ok(memo.size <= 4, `size ${memo.size} after ${i + 1} inputs`);
    }
    assert.equal(calls, 100);
    // What is still kept is not computed again; what was dropped is, with the same result.
    const kept = calls;
    assert.equal(memo('k99'), 'K99');
    assert.equal(calls, kept);
    assert.equal(memo('k0'), 'K0');
    assert.equal(calls, kept + 1);
    memo.clear();
    assert.equal(memo.size, 0);
  });

  test('does not keep inputs longer than its length bound', () => {
    let calls = 0;
    const memo = memoizeString((input: string) => {
      calls++;
      return input.length;
    }, 10, 8);
    assert.equal(memo('x'.repeat(9)), 9);
    assert.equal(memo('x'.repeat(9)), 9);
    assert.equal(calls, 2);
    assert.equal(memo.size, 0);
    assert.equal(memo('x'.repeat(8)), 8);
    assert.equal(memo('x'.repeat(8)), 8);
    assert.equal(calls, 3);
  });
});

describe('memoized URL functions', () => {
  // Many distinct inputs (more than the memos keep), each asked twice, far
  // apart: every answer equals the first one, whether it came from the memo
  // or was computed again after the memo was emptied.
  const urls = Array.from({ length: 6000 }, (_, i) =>
    i % 5 === 0 ? `HTTP://Host${i % 50}.Example.com:80/a/../b%7e${i}?z=${i}&a=1#f` : i % 5 === 1 ? `javascript:void(${i})` : `https://h${i % 7}.example.co.uk/p/${i}?b=2&a=${i}`,
  );

  test('urlKey gives the same key the first time and every later time', () => {
    const first = urls.map((u) => urlKey(u));
    assert.deepEqual(urls.map((u) => urlKey(u)), first);
    assert.equal(first[0], 'http://host0.example.com/b~0?a=1&z=0');
    assert.equal(first[1], 'javascript:void(1)');
    assert.equal(urlKey(7 as unknown as string), '');
  });

  test('registrableDomain and scope checks give the same answer the first time and every later time', () => {
    const hosts = urls.map((u) => new URL(u).hostname);
    const first = hosts.map((h) => registrableDomain(h));
    assert.deepEqual(hosts.map((h) => registrableDomain(h)), first);
    assert.equal(registrableDomain('www.bbc.co.uk'), 'bbc.co.uk');
    const scoped = urls.map((u) => isInScope('sameHost', 'http://host0.example.com/', u));
    assert.deepEqual(urls.map((u) => isInScope('sameHost', 'http://host0.example.com/', u)), scoped);
    assert.equal(scoped[0], true);
    assert.equal(scoped[1], false);
  });

  test('linkResolver resolves as resolveLink does, against the page URL or <base href>', () => {
    const hrefs = ['x', '../y?b=1#f', ' /z ', 'mailto:a@b.c', '//other.example/p', 'http://u:p@h/', 'HTTP://A.COM/%7e'];
    for (const [page, base] of [['http://example.com/dir/page.html', null], ['http://example.com/dir/page.html', '/base/'], ['http://example.com/d/', 'javascript:x']] as const) {
      const resolve = linkResolver(page, base);
      for (const href of hrefs) assert.equal(resolve(href), resolveLink(href, page, base), `${href} on ${page} with base ${base}`);
    }
    assert.equal(linkResolver('http://example.com/dir/page.html', '/base/')('x'), 'http://example.com/base/x');
    assert.equal(linkResolver('not a url')('x'), null);
    assert.equal(linkResolver('http://example.com/')(undefined as unknown as string), null);
  });

  test('drops the fragment exactly as clearing it does, with "#" elsewhere escaped', () => {
    for (const url of ['http://a.com/p#f', 'http://a.com/p#', 'http://a.com/p?q=#x#y', 'http://a.com/%23p?q=%23#', 'https://a.com/#']) {
      const parsed = new URL(url);
      parsed.hash = '';
      assert.equal(normalizeUrl(url), parsed.href, url);
    }
  });
});
