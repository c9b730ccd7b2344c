import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isInScope, registrableDomain } from '../../../shared/url/scope.ts';
import type { Scope } from '../../../shared/spec/schema.ts';

describe('registrableDomain', () => {
  const cases: readonly [behaviour: string, host: string, expected: string | null][] = [
    ['gives eTLD+1 of a subdomain', 'www.example.com', 'example.com'],
    ['gives a registrable domain itself', 'example.com', 'example.com'],
    ['knows multi-label public suffixes', 'news.bbc.co.uk', 'bbc.co.uk'],
    ['keeps a.co.uk and b.co.uk apart', 'a.co.uk', 'a.co.uk'],
    ['treats private suffixes such as github.io as public', 'alice.github.io', 'alice.github.io'],
    ['lower-cases and drops a trailing dot', 'WWW.Example.COM.', 'example.com'],
    ['turns IDN hosts into punycode', 'www.Bücher.de', 'xn--bcher-kva.de'],
    ['returns an IPv4 address itself', '192.168.1.20', '192.168.1.20'],
    ['returns an IPv6 address itself, in brackets', '::1', '[::1]'],
    ['accepts a bracketed IPv6 address', '[2001:DB8::1]', '[2001:db8::1]'],
    ['returns a single-label host itself', 'localhost', 'localhost'],
    ['returns a host that is itself a public suffix', 'co.uk', 'co.uk'],
    ['refuses a host with a port', 'example.com:8080', null],
    ['refuses a host with a default port', 'example.com:80', null],
    ['refuses a bracketed IPv6 host with a port', '[::1]:80', null],
    ['refuses a host with a path', 'example.com/x', null],
    ['refuses a host with credentials', 'user@example.com', null],
    ['refuses a host with a space', 'exa mple.com', null],
    ['refuses the empty string', '', null],
  ];
  for (const [behaviour, host, expected] of cases) {
    test(behaviour, () => assert.equal(registrableDomain(host), expected));
  }

  test('returns null instead of throwing on values that are not strings', () => {
    assert.equal(registrableDomain(undefined as unknown as string), null);
  });
});

describe('isInScope', () => {
  const from = 'https://www.example.com/list?page=1';

  test("'any' allows every http(s) URL", () => {
    assert.equal(isInScope('any', from, 'http://elsewhere.org/'), true);
    assert.equal(isInScope('any', from, 'https://127.0.0.1:8443/x'), true);
  });

  test("'any' still refuses URLs that are not http(s) or do not parse", () => {
    assert.equal(isInScope('any', from, 'ftp://elsewhere.org/'), false);
    assert.equal(isInScope('any', from, 'mailto:a@example.com'), false);
    assert.equal(isInScope('any', from, 'not a url'), false);
  });

  test("'sameHost' allows the same host, ignoring scheme, port and case", () => {
    assert.equal(isInScope('sameHost', from, 'https://www.example.com/other'), true);
    assert.equal(isInScope('sameHost', from, 'http://WWW.EXAMPLE.COM:8080/other'), true);
    assert.equal(isInScope('sameHost', from, 'http://www.example.com./other'), true);
  });

  test("'sameHost' refuses other subdomains and the parent domain", () => {
    assert.equal(isInScope('sameHost', from, 'https://shop.example.com/'), false);
    assert.equal(isInScope('sameHost', from, 'https://example.com/'), false);
  });

  test("'sameHost' compares IP addresses after parsing", () => {
    assert.equal(isInScope('sameHost', 'http://127.0.0.1:3000/', 'http://0x7f.0.0.1:4000/x'), true);
    assert.equal(isInScope('sameHost', 'http://127.0.0.1/', 'http://127.0.0.2/'), false);
    assert.equal(isInScope('sameHost', 'http://[::1]/', 'http://[0::1]/x'), true);
  });

  test("'sameDomain' allows every subdomain of the registrable domain", () => {
    assert.equal(isInScope('sameDomain', from, 'https://shop.example.com/'), true);
    assert.equal(isInScope('sameDomain', from, 'http://example.com/'), true);
    assert.equal(isInScope('sameDomain', from, 'http://a.b.c.example.com/'), true);
  });

  test("'sameDomain' refuses other registrable domains", () => {
    assert.equal(isInScope('sameDomain', from, 'https://example.org/'), false);
    assert.equal(isInScope('sameDomain', from, 'https://notexample.com/'), false);
  });

  test("'sameDomain' keeps sites under one public suffix apart", () => {
    assert.equal(isInScope('sameDomain', 'http://www.a.co.uk/', 'http://shop.a.co.uk/'), true);
    assert.equal(isInScope('sameDomain', 'http://a.co.uk/', 'http://b.co.uk/'), false);
    assert.equal(isInScope('sameDomain', 'http://alice.github.io/', 'http://bob.github.io/'), false);
  });

  test("'sameDomain' matches IP addresses and single-label hosts only exactly", () => {
    assert.equal(isInScope('sameDomain', 'http://10.0.0.1/', 'http://10.0.0.1:81/'), true);
    assert.equal(isInScope('sameDomain', 'http://10.0.0.1/', 'http://10.0.0.2/'), false);
    assert.equal(isInScope('sameDomain', 'http://localhost:3000/', 'http://localhost:4000/'), true);
    assert.equal(isInScope('sameDomain', 'http://intranet/', 'http://wiki/'), false);
  });

  test("'sameHost' and 'sameDomain' refuse everything when the page URL does not parse", () => {
    assert.equal(isInScope('sameHost', 'garbage', 'http://example.com/'), false);
    assert.equal(isInScope('sameDomain', 'garbage', 'http://example.com/'), false);
  });

  test('{ domains } allows a listed domain and its subdomains', () => {
    const scope: Scope = { domains: ['example.com', 'Other.ORG'] };
    assert.equal(isInScope(scope, from, 'http://example.com/'), true);
    assert.equal(isInScope(scope, from, 'http://deep.shop.example.com/'), true);
    assert.equal(isInScope(scope, from, 'https://other.org:444/'), true);
    assert.equal(isInScope(scope, from, 'https://www.OTHER.org/'), true);
  });

  test('{ domains } refuses look-alike hosts that merely end with a listed name', () => {
    const scope: Scope = { domains: ['example.com'] };
    assert.equal(isInScope(scope, from, 'http://notexample.com/'), false);
    assert.equal(isInScope(scope, from, 'http://example.com.evil.net/'), false);
    assert.equal(isInScope(scope, from, 'http://example.org/'), false);
  });

  test('{ domains } does not depend on the page the link was found on', () => {
    const scope: Scope = { domains: ['example.com'] };
    assert.equal(isInScope(scope, 'https://elsewhere.net/', 'http://www.example.com/'), true);
    assert.equal(isInScope(scope, 'garbage', 'http://www.example.com/'), true);
  });

  test('{ domains } accepts a leading dot and ignores a trailing one', () => {
    assert.equal(isInScope({ domains: ['.example.com'] }, from, 'http://www.example.com/'), true);
    assert.equal(isInScope({ domains: ['example.com.'] }, from, 'http://www.example.com/'), true);
  });

  test('{ domains } matches an IP address exactly, never as a suffix', () => {
    const scope: Scope = { domains: ['127.0.0.1', '0.0.1'] };
    assert.equal(isInScope(scope, from, 'http://127.0.0.1:8080/'), true);
    assert.equal(isInScope({ domains: ['0.0.1'] }, from, 'http://127.0.0.1/'), false);
  });

  test('{ domains } with a public suffix allows everything under it, as listed', () => {
    assert.equal(isInScope({ domains: ['co.uk'] }, from, 'http://a.co.uk/'), true);
    assert.equal(isInScope({ domains: ['a.co.uk'] }, from, 'http://b.co.uk/'), false);
  });

  test('returns false instead of throwing on a malformed scope', () => {
    assert.equal(isInScope('sameSite' as unknown as Scope, from, from), false);
    assert.equal(isInScope(null as unknown as Scope, from, from), false);
    assert.equal(isInScope({ domains: 'example.com' } as unknown as Scope, from, from), false);
  });
});
