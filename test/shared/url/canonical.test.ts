import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_URL_LENGTH, normalizeUrl, resolveLink, urlKey } from '../../../shared/url/canonical.ts';

const PAGE = 'http://example.com/dir/page.html';

interface LinkCase {
  readonly behaviour: string;
  readonly href: string;
  readonly page?: string;
  readonly base?: string | null;
  readonly expected: string | null;
}

const linkCases: readonly LinkCase[] = [
  { behaviour: 'resolves a relative path against the page URL', href: 'other.html', expected: 'http://example.com/dir/other.html' },
  { behaviour: 'resolves ../ to the parent directory', href: '../up.html', expected: 'http://example.com/up.html' },
  { behaviour: 'stops ../ at the root', href: '../../../../x', expected: 'http://example.com/x' },
  { behaviour: 'resolves a root-relative path', href: '/root/x', expected: 'http://example.com/root/x' },
  { behaviour: 'resolves a query-only link against the page path', href: '?page=2', expected: 'http://example.com/dir/page.html?page=2' },
  { behaviour: 'resolves against an absolute <base href>', href: 'x.html', base: 'http://cdn.example.org/base/', expected: 'http://cdn.example.org/base/x.html' },
  { behaviour: 'resolves a relative <base href> against the page URL first', href: 'x.html', base: '/other/', expected: 'http://example.com/other/x.html' },
  { behaviour: 'strips whitespace around <base href>', href: 'x', base: ' \n/b/ ', expected: 'http://example.com/b/x' },
  { behaviour: 'falls back to the page URL when <base href> does not parse', href: 'x.html', base: 'http://[bad', expected: 'http://example.com/dir/x.html' },
  { behaviour: 'ignores a javascript: <base href> as browsers do', href: 'x.html', base: 'javascript:alert(1)', expected: 'http://example.com/dir/x.html' },
  { behaviour: 'uses the page URL when baseHref is null', href: 'x.html', base: null, expected: 'http://example.com/dir/x.html' },
  { behaviour: 'gives a protocol-relative link the page scheme', href: '//cdn.example.org/lib.js', page: 'https://example.com/', expected: 'https://cdn.example.org/lib.js' },
  { behaviour: 'treats backslashes as slashes, as browsers do', href: '\\\\other.example\\a\\b', expected: 'http://other.example/a/b' },
  { behaviour: 'turns a fragment-only link into the page URL', href: '#top', expected: 'http://example.com/dir/page.html' },
  { behaviour: 'drops the fragment of a link', href: 'a.html#section-2', expected: 'http://example.com/dir/a.html' },
  { behaviour: 'turns an empty href into the page URL', href: '', expected: 'http://example.com/dir/page.html' },
  { behaviour: 'strips ASCII whitespace around the href', href: ' \t\n/x?q=1 \r\n\f', expected: 'http://example.com/x?q=1' },
  { behaviour: 'removes tabs and newlines inside the href', href: '/a\nb\tc', expected: 'http://example.com/abc' },
  { behaviour: 'resolves an absolute link regardless of the page', href: 'HTTPS://Other.Example:443/p', expected: 'https://other.example/p' },
  { behaviour: 'resolves an absolute link even when the page URL is garbage', href: 'http://example.com/a', page: 'not a url', expected: 'http://example.com/a' },
  { behaviour: 'refuses a relative link when the page URL is garbage', href: 'a.html', page: 'not a url', expected: null },
  { behaviour: 'refuses javascript: links', href: 'javascript:void(0)', expected: null },
  { behaviour: 'refuses javascript: links in any case and with whitespace', href: '  JavaScript:alert(1)', expected: null },
  { behaviour: 'refuses mailto: links', href: 'mailto:someone@example.com', expected: null },
  { behaviour: 'refuses tel: links', href: 'tel:+441234567890', expected: null },
  { behaviour: 'refuses data: links', href: 'data:text/html,<h1>hi</h1>', expected: null },
  { behaviour: 'refuses file: links', href: 'file:///etc/passwd', expected: null },
  { behaviour: 'refuses ftp: links', href: 'ftp://example.com/file', expected: null },
  { behaviour: 'refuses links with user:password credentials', href: 'http://user:secret@example.com/', expected: null },
  { behaviour: 'refuses links with a user name only', href: '//user@example.com/', expected: null },
  { behaviour: 'refuses links longer than the limit', href: `/${'a'.repeat(MAX_URL_LENGTH)}`, expected: null },
  { behaviour: 'refuses a link whose host has a space', href: 'http://exa mple.com/', expected: null },
  { behaviour: 'refuses a link with an unterminated IPv6 host', href: 'http://[::1/', expected: null },
  { behaviour: 'refuses a link with no host', href: 'http://', expected: null },
];

interface UrlCase {
  readonly behaviour: string;
  readonly url: string;
  readonly expected: string | null;
}

const normalizeCases: readonly UrlCase[] = [
  { behaviour: 'lower-cases the scheme and host but not the path', url: 'HTTP://WWW.Example.COM/Path/File', expected: 'http://www.example.com/Path/File' },
  { behaviour: 'removes the default port 80 of http', url: 'http://example.com:80/a', expected: 'http://example.com/a' },
  { behaviour: 'removes the default port 443 of https', url: 'https://example.com:443/a', expected: 'https://example.com/a' },
  { behaviour: 'keeps port 443 on http, where it is not the default', url: 'http://example.com:443/a', expected: 'http://example.com:443/a' },
  { behaviour: 'keeps a non-default port', url: 'http://example.com:8080/a', expected: 'http://example.com:8080/a' },
  { behaviour: 'gives an empty path "/"', url: 'http://example.com', expected: 'http://example.com/' },
  { behaviour: 'removes dot segments', url: 'http://example.com/a/./b/../c/', expected: 'http://example.com/a/c/' },
  { behaviour: 'removes percent-encoded dot segments', url: 'http://example.com/a/%2e%2E/b', expected: 'http://example.com/b' },
  { behaviour: 'drops the fragment', url: 'http://example.com/a#frag', expected: 'http://example.com/a' },
  { behaviour: 'drops an empty fragment', url: 'http://example.com/a#', expected: 'http://example.com/a' },
  { behaviour: 'decodes escapes of unreserved characters', url: 'http://example.com/%7euser/%41%62%2D%5F%2e%30', expected: 'http://example.com/~user/Ab-_.0' },
  { behaviour: 'upper-cases the hex of other escapes', url: 'http://example.com/a%2fb%3a?q=%2b%26', expected: 'http://example.com/a%2Fb%3A?q=%2B%26' },
  { behaviour: 'decodes unreserved escapes in the query too', url: 'http://example.com/?q=%7e%61', expected: 'http://example.com/?q=~a' },
  { behaviour: 'escapes characters that must be escaped', url: 'http://example.com/a b"<>?q=x y', expected: 'http://example.com/a%20b%22%3C%3E?q=x%20y' },
  { behaviour: 'leaves a malformed percent sign alone, as browsers do', url: 'http://example.com/100%/%zz', expected: 'http://example.com/100%/%zz' },
  { behaviour: 'encodes a unicode path as UTF-8', url: 'http://example.com/café/ü', expected: 'http://example.com/caf%C3%A9/%C3%BC' },
  { behaviour: 'gives an encoded unicode path the same form as the raw one', url: 'http://example.com/caf%c3%a9/%c3%bc', expected: 'http://example.com/caf%C3%A9/%C3%BC' },
  { behaviour: 'turns an IDN host into punycode', url: 'https://Bücher.Example/', expected: 'https://xn--bcher-kva.example/' },
  { behaviour: 'writes IPv4 hosts in dotted decimal', url: 'http://0x7f.1/', expected: 'http://127.0.0.1/' },
  { behaviour: 'compresses IPv6 hosts and drops their default port', url: 'http://[0:0:0:0:0:0:0:1]:80/', expected: 'http://[::1]/' },
  { behaviour: 'keeps the query in its original order', url: 'http://example.com/s?b=2&a=1&a=0', expected: 'http://example.com/s?b=2&a=1&a=0' },
  { behaviour: 'keeps an empty query, which RFC 3986 distinguishes', url: 'http://example.com/?', expected: 'http://example.com/?' },
  { behaviour: 'strips leading and trailing spaces', url: '  http://example.com/x  ', expected: 'http://example.com/x' },
  { behaviour: 'refuses a relative URL', url: '/relative/path', expected: null },
  { behaviour: 'refuses a non-http scheme', url: 'ftp://example.com/', expected: null },
  { behaviour: 'refuses credentials', url: 'https://user:pw@example.com/', expected: null },
  { behaviour: 'refuses a URL over the length limit', url: `http://example.com/${'x'.repeat(MAX_URL_LENGTH)}`, expected: null },
  { behaviour: 'refuses a URL that grows over the limit when escaped', url: `http://example.com/${'é'.repeat(MAX_URL_LENGTH / 4)}`, expected: null },
  { behaviour: 'refuses garbage', url: '::::', expected: null },
  { behaviour: 'refuses the empty string', url: '', expected: null },
];

const keyCases: readonly UrlCase[] = [
  { behaviour: 'sorts query parameters by name in the key', url: 'http://example.com/s?b=2&a=1', expected: 'http://example.com/s?a=1&b=2' },
  { behaviour: 'keeps the relative order of repeated parameters', url: 'http://example.com/s?b=1&a=2&c=0&a=1', expected: 'http://example.com/s?a=2&a=1&b=1&c=0' },
  { behaviour: 'sorts by name, not by the whole parameter', url: 'http://example.com/?a-b=1&a=2', expected: 'http://example.com/?a=2&a-b=1' },
  { behaviour: 'keeps blank values and value-less parameters as written', url: 'http://example.com/?b=&a', expected: 'http://example.com/?a&b=' },
  { behaviour: 'drops empty parameters', url: 'http://example.com/?a=1&&b=2&', expected: 'http://example.com/?a=1&b=2' },
  { behaviour: 'drops an empty query', url: 'http://example.com/x?', expected: 'http://example.com/x' },
  { behaviour: 'drops the fragment and lower-cases the host', url: 'HTTP://Example.COM/x?b=1&a=1#frag', expected: 'http://example.com/x?a=1&b=1' },
  { behaviour: 'gives a URL without a query its normalized form', url: 'http://example.com:80', expected: 'http://example.com/' },
  { behaviour: 'does not re-encode parameters (+ and %20 stay distinct)', url: 'http://example.com/?q=a+b&p=a%20b', expected: 'http://example.com/?p=a%20b&q=a+b' },
  { behaviour: 'returns a URL it cannot normalize unchanged', url: 'mailto:someone@example.com', expected: 'mailto:someone@example.com' },
  { behaviour: 'returns a URL with credentials unchanged', url: 'http://u:p@example.com/?b&a', expected: 'http://u:p@example.com/?b&a' },
];

describe('resolveLink', () => {
  for (const c of linkCases) {
    test(c.behaviour, () => {
      assert.equal(resolveLink(c.href, c.page ?? PAGE, c.base), c.expected);
    });
  }

  test('returns null instead of throwing on values that are not strings', () => {
    assert.equal(resolveLink(undefined as unknown as string, PAGE), null);
    assert.equal(resolveLink(42 as unknown as string, PAGE), null);
    assert.equal(resolveLink('x', null as unknown as string), null);
    assert.equal(resolveLink('x', PAGE, 7 as unknown as string), 'http://example.com/dir/x');
  });
});

describe('normalizeUrl', () => {
  for (const c of normalizeCases) {
    test(c.behaviour, () => {
      assert.equal(normalizeUrl(c.url), c.expected);
    });
  }

  test('is idempotent on every URL it accepts', () => {
    const accepted = [...normalizeCases, ...keyCases].map((c) => normalizeUrl(c.url)).filter((u) => u !== null);
    assert.ok(accepted.length > 30);
    for (const url of accepted) assert.equal(normalizeUrl(url), url);
  });

  test('returns null instead of throwing on values that are not strings', () => {
    assert.equal(normalizeUrl(null as unknown as string), null);
    assert.equal(normalizeUrl({} as unknown as string), null);
  });
});

describe('urlKey', () => {
  for (const c of keyCases) {
    test(c.behaviour, () => {
      assert.equal(urlKey(c.url), c.expected);
    });
  }

  test('gives equivalent spellings of one URL one key', () => {
    const spellings = [
      'http://Example.com:80/%7euser/./a?y=%2f&x=1#top',
      'http://example.com/~user/a?x=1&y=%2F',
      'HTTP://EXAMPLE.COM/~user/b/../a?y=%2F&x=1&',
    ];
    const keys = new Set(spellings.map(urlKey));
    assert.deepEqual([...keys], ['http://example.com/~user/a?x=1&y=%2F']);
  });

  test('is idempotent and agrees with resolveLink', () => {
    const key = urlKey('http://example.com/dir/x?b=1&a=2');
    assert.equal(urlKey(key), key);
    assert.equal(urlKey(resolveLink('x?a=2&b=1#f', PAGE)!), key);
  });
});
