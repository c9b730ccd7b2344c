import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import net, { type AddressInfo, type LookupFunction } from 'node:net';
import tls from 'node:tls';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync, zstdCompressSync } from 'node:zlib';
import { createPageFetcher, pageFetcherOptionsSchema, RelayError, RelayErrorCode, type PageFetcherOptions } from '../../../server/relay/fetch-page.ts';
import { closedPort, guardLoopbackOnly, startLocalServer, type LocalServer, type LoopbackGuard } from './local-server.ts';

const PAGE = '<!doctype html><title>Page</title><p>héllo</p>';
const MIB = 1024 * 1024;
// 16 MiB of HTML that gzips to a few kilobytes.
const GZIP_BOMB = gzipSync(Buffer.concat([Buffer.from('<!doctype html><p>'), Buffer.alloc(16 * MIB, 0x20)]));

// `gzip, gzip` whose middle layer is 40 MiB: a small page, then padding the inner gunzip ignores.
const NESTED_PADDED = gzipSync(Buffer.concat([gzipSync(PAGE), Buffer.alloc(40 * MIB)]));

let site: LocalServer;
let guard: LoopbackGuard;

function html(res: ServerResponse, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...headers });
  res.end(body);
}

function redirect(res: ServerResponse, location: string, status = 302): void {
  res.writeHead(status, { location, 'content-type': 'text/html' });
  res.end(`<a href="${location}">moved</a>`);
}

function route(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://site');
  const path = url.pathname;
  if (path === '/page') return html(res, PAGE, { etag: '"v1"', 'last-modified': 'Wed, 01 Jan 2025 00:00:00 GMT' });
  if (path === '/xhtml') return html(res, PAGE, { 'content-type': 'application/xhtml+xml' });
  if (path === '/gzip') return html(res, gzipSync(PAGE), { 'content-encoding': 'gzip' });
  if (path === '/deflate') return html(res, deflateSync(PAGE), { 'content-encoding': 'deflate' });
  if (path === '/deflate-raw') return html(res, deflateRawSync(PAGE), { 'content-encoding': 'deflate' });
  if (path === '/br') return html(res, brotliCompressSync(PAGE), { 'content-encoding': 'br' });
  if (path === '/zstd') return html(res, zstdCompressSync(PAGE), { 'content-encoding': 'zstd' });
  if (path === '/gzip-br') return html(res, brotliCompressSync(gzipSync(PAGE)), { 'content-encoding': 'gzip, br' });
  if (path === '/bad-gzip') return html(res, 'this is not gzip at all', { 'content-encoding': 'gzip' });
  if (path === '/compress') return html(res, PAGE, { 'content-encoding': 'compress' });
  if (path === '/bomb') return html(res, GZIP_BOMB, { 'content-encoding': 'gzip' });
  if (path === '/nested-padded') return html(res, NESTED_PADDED, { 'content-encoding': 'gzip, gzip' });
  if (path === '/nested') return html(res, gzipSync(gzipSync(PAGE)), { 'content-encoding': 'gzip, gzip' });
  if (path === '/big') return html(res, Buffer.alloc(2 * MIB, 0x61));
  if (path === '/big-chunked') {
    res.writeHead(200, { 'content-type': 'text/html' });
    for (let i = 0; i < 32; i++) res.write(Buffer.alloc(64 * 1024, 0x61));
    return void res.end();
  }
  if (path === '/drip') {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.flushHeaders();
    const timer = setInterval(() => res.write('.'), 200);
    return void res.on('close', () => clearInterval(timer));
  }
  if (path === '/pdf') {
    res.writeHead(200, { 'content-type': 'application/pdf' });
    return void res.end('%PDF-1.7');
  }
  if (path === '/no-type') return void res.end(PAGE);
  if (path === '/404') {
    res.writeHead(404, { 'content-type': 'text/html' });
    return void res.end('<p>not found</p>');
  }
  if (path === '/503') {
    res.writeHead(503, { 'content-type': 'text/html', 'retry-after': '120' });
    return void res.end('<p>busy</p>');
  }
  if (path === '/hop/1') return redirect(res, '2', 301); // relative to /hop/1
  if (path === '/hop/2') return redirect(res, '/hop/3', 303);
  if (path === '/hop/3') return redirect(res, `http://127.0.0.1:${site.port}/page#frag`, 307);
  if (path.startsWith('/chain/')) {
    const left = Number(path.slice('/chain/'.length));
    return left === 0 ? html(res, PAGE) : redirect(res, `/chain/${left - 1}`);
  }
  if (path === '/loop/a') return redirect(res, '/loop/b');
  if (path === '/loop/b') return redirect(res, '/loop/a', 308);
  if (path === '/self') return redirect(res, '/self');
  if (path === '/to') return redirect(res, url.searchParams.get('location') ?? '/');
  res.writeHead(500);
  res.end('no such route');
}

/** A lookup that knows only the names in `table` and never asks DNS. */
function mapLookup(table: Record<string, string[]>): LookupFunction {
  return (hostname, _options, callback) => {
    const addresses = table[hostname.toLowerCase()];
    process.nextTick(() => {
      if (!addresses) callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
      else callback(null, addresses.map((address) => ({ address, family: net.isIP(address) })));
    });
  };
}

/** The page fetchers a test made; all closed after it. */
const fetchers: Array<ReturnType<typeof createPageFetcher>> = [];
function fetcher(options: PageFetcherOptions = {}) {
  const created = createPageFetcher({ allowHosts: ['127.0.0.1'], ...options });
  fetchers.push(created);
  return created;
}

async function refusal(promise: Promise<unknown>): Promise<RelayError> {
  const error = await promise.then(
    () => assert.fail('the fetch should have been refused'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof RelayError, `expected a RelayError, got ${String(error)}`);
  return error;
}

before(async () => {
  guard = guardLoopbackOnly();
  site = await startLocalServer(route);
});

after(async () => {
  await Promise.all(fetchers.map((f) => f.close()));
  await site.close();
  guard.restore();
  assert.deepEqual(guard.violations, [], 'no test connected to anything but loopback');
});

test('fetches an allowed page: final URL, status, body, sha256 hash and the useful headers', async () => {
  const page = await fetcher().fetchPage(`${site.origin}/page`);
  assert.equal(page.requestedUrl, `${site.origin}/page`);
  assert.equal(page.finalUrl, `${site.origin}/page`);
  assert.equal(page.status, 200);
  assert.equal(page.contentType, 'text/html; charset=utf-8');
  assert.equal(page.body.toString('utf8'), PAGE);
  assert.equal(page.contentHash, createHash('sha256').update(PAGE).digest('hex'));
  assert.deepEqual(page.headers, { 'content-type': 'text/html; charset=utf-8', etag: '"v1"', 'last-modified': 'Wed, 01 Jan 2025 00:00:00 GMT' });
  assert.deepEqual(page.redirects, []);
  assert.ok(page.elapsedMs >= 0);
});

test('sends only GET, with the user agent, an HTML Accept and the encodings it can undo', async () => {
  const before = site.requests.length;
  await fetcher().fetchPage(`${site.origin}/page`, { userAgent: 'TestBot/1.0 (+contact)' });
  const [request] = site.requests.slice(before);
  assert.equal(request?.method, 'GET');
  assert.equal(request?.headers['user-agent'], 'TestBot/1.0 (+contact)');
  assert.match(String(request?.headers.accept), /^text\/html/);
  assert.equal(request?.headers['accept-encoding'], 'gzip, deflate, br');
});

test('accepts application/xhtml+xml as HTML', async () => {
  const page = await fetcher().fetchPage(`${site.origin}/xhtml`);
  assert.equal(page.body.toString('utf8'), PAGE);
});

for (const [coding, path] of [
  ['gzip', '/gzip'],
  ['deflate (zlib-wrapped)', '/deflate'],
  ['deflate (raw, as some servers send it)', '/deflate-raw'],
  ['br', '/br'],
  ['zstd', '/zstd'],
  ['gzip then br', '/gzip-br'],
] as const) {
  test(`decodes a ${coding} body and hashes the decoded bytes`, async () => {
    const page = await fetcher().fetchPage(`${site.origin}${path}`);
    assert.equal(page.body.toString('utf8'), PAGE);
    assert.equal(page.contentHash, createHash('sha256').update(PAGE).digest('hex'));
  });
}

test('follows relative, path-absolute and absolute redirects and reports each hop and the final URL without its fragment', async () => {
  const page = await fetcher().fetchPage(`${site.origin}/hop/1`);
  assert.equal(page.finalUrl, `${site.origin}/page`);
  assert.deepEqual(page.redirects, [`${site.origin}/hop/2`, `${site.origin}/hop/3`, `${site.origin}/page`]);
  assert.equal(page.body.toString('utf8'), PAGE);
});

test('follows exactly maxRedirects redirects', async () => {
  const page = await fetcher({ maxRedirects: 3 }).fetchPage(`${site.origin}/chain/3`);
  assert.equal(page.finalUrl, `${site.origin}/chain/0`);
  assert.equal(page.redirects.length, 3);
});

test('refuses one redirect more than maxRedirects', async () => {
  const error = await refusal(fetcher({ maxRedirects: 3 }).fetchPage(`${site.origin}/chain/4`));
  assert.equal(error.code, RelayErrorCode.RELAY_TOO_MANY_REDIRECTS);
  assert.equal(error.retryable, false);
});

test('detects a redirect loop between two pages', async () => {
  const error = await refusal(fetcher({ maxRedirects: 10 }).fetchPage(`${site.origin}/loop/a`));
  assert.equal(error.code, RelayErrorCode.RELAY_REDIRECT_LOOP);
});

test('detects a page that redirects to itself', async () => {
  const error = await refusal(fetcher().fetchPage(`${site.origin}/self`));
  assert.equal(error.code, RelayErrorCode.RELAY_REDIRECT_LOOP);
});

// Every notation of a refused address. The site listens on 127.0.0.1, so for
// the loopback ones a wrong answer would reach it: it must see no request.
const REFUSED_URLS: Array<[string, (port: number) => string]> = [
  ['loopback 127.0.0.1', (port) => `http://127.0.0.1:${port}/page`],
  ['loopback 127.0.0.2', (port) => `http://127.0.0.2:${port}/page`],
  ['IPv6 loopback [::1]', (port) => `http://[::1]:${port}/page`],
  ['IPv4-mapped [::ffff:127.0.0.1]', (port) => `http://[::ffff:127.0.0.1]:${port}/page`],
  ['IPv4-mapped in hex [::ffff:7f00:1]', (port) => `http://[::ffff:7f00:1]:${port}/page`],
  ['IPv4-compatible [::127.0.0.1]', (port) => `http://[::127.0.0.1]:${port}/page`],
  ['decimal 2130706433', (port) => `http://2130706433:${port}/page`],
  ['hex 0x7f000001', (port) => `http://0x7f000001:${port}/page`],
  ['octal 0177.0.0.1', (port) => `http://0177.0.0.1:${port}/page`],
  ['short 127.1', (port) => `http://127.1:${port}/page`],
  ['unspecified 0.0.0.0', (port) => `http://0.0.0.0:${port}/page`],
  ['unspecified [::]', (port) => `http://[::]:${port}/page`],
  ['private 10.0.0.1', () => 'http://10.0.0.1/'],
  ['private 172.16.0.1', () => 'http://172.16.0.1/'],
  ['private 172.31.255.254', () => 'http://172.31.255.254/'],
  ['private 192.168.1.1', () => 'http://192.168.1.1/'],
  ['link-local 169.254.1.1', () => 'http://169.254.1.1/'],
  ['cloud metadata 169.254.169.254', () => 'http://169.254.169.254/latest/meta-data/'],
  ['carrier-grade NAT 100.64.0.1', () => 'http://100.64.0.1/'],
  ['"this network" 0.1.2.3', () => 'http://0.1.2.3/'],
  ['multicast 224.0.0.1', () => 'http://224.0.0.1/'],
  ['broadcast 255.255.255.255', () => 'http://255.255.255.255/'],
  ['reserved 240.0.0.1', () => 'http://240.0.0.1/'],
  ['documentation 192.0.2.1', () => 'http://192.0.2.1/'],
  ['documentation 203.0.113.7', () => 'http://203.0.113.7/'],
  ['benchmarking 198.18.0.1', () => 'http://198.18.0.1/'],
  ['IPv6 link-local [fe80::1]', () => 'http://[fe80::1]/'],
  ['IPv6 unique-local [fc00::1]', () => 'http://[fc00::1]/'],
  ['IPv6 unique-local [fd12:3456::1]', () => 'http://[fd12:3456::1]/'],
  ['IPv6 multicast [ff02::1]', () => 'http://[ff02::1]/'],
  ['IPv6 documentation [2001:db8::1]', () => 'http://[2001:db8::1]/'],
  ['IPv4-mapped private [::ffff:10.0.0.1]', () => 'http://[::ffff:10.0.0.1]/'],
  ['IPv4-mapped metadata [::ffff:169.254.169.254]', () => 'http://[::ffff:169.254.169.254]/'],
  ['NAT64 of 10.0.0.1 [64:ff9b::a00:1]', () => 'http://[64:ff9b::a00:1]/'],
  ['NAT64 of 127.0.0.1 [64:ff9b::7f00:1]', () => 'http://[64:ff9b::7f00:1]/'],
  ['6to4 of 192.168.0.1 [2002:c0a8:1::1]', () => 'http://[2002:c0a8:1::1]/'],
  ['Teredo with client 127.0.0.1 [2001:0:4136:e378:8000:63bf:80ff:fffe]', () => 'http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/'],
];

for (const [label, urlFor] of REFUSED_URLS) {
  test(`refuses ${label} without connecting`, async () => {
    const before = site.requests.length;
    const error = await refusal(fetcher({ allowHosts: [] }).fetchPage(urlFor(site.port)));
    assert.equal(error.code, RelayErrorCode.RELAY_BLOCKED_ADDRESS);
    assert.equal(error.retryable, false);
    assert.equal(site.requests.length, before, 'the site saw no request');
  });
}

test('refuses a port that browsers refuse too (SMTP on 25) on a public address', async () => {
  const error = await refusal(fetcher({ allowHosts: [] }).fetchPage('http://93.184.215.14:25/'));
  assert.equal(error.code, RelayErrorCode.RELAY_BLOCKED_ADDRESS);
  assert.match(error.message, /port 25/);
});

test('refuses localhost by name, without asking DNS', async () => {
  let asked = false;
  const lookup: LookupFunction = (hostname, options, callback) => {
    asked = true;
    mapLookup({ localhost: ['127.0.0.1'] })(hostname, options, callback);
  };
  const error = await refusal(fetcher({ allowHosts: [], lookup }).fetchPage(`http://localhost:${site.port}/page`));
  assert.equal(error.code, RelayErrorCode.RELAY_BLOCKED_ADDRESS);
  assert.equal(asked, false);
});

test('refuses a host name that resolves to 127.0.0.2', async () => {
  const before = site.requests.length;
  const lookup = mapLookup({ 'loop.test': ['127.0.0.2'] });
  const error = await refusal(fetcher({ allowHosts: [], lookup }).fetchPage(`http://loop.test:${site.port}/page`));
  assert.equal(error.code, RelayErrorCode.RELAY_BLOCKED_ADDRESS);
  assert.match(error.message, /loop\.test \(127\.0\.0\.2\)/);
  assert.equal(site.requests.length, before);
});

test('refuses a host name that resolves to 10.0.0.1', async () => {
  const lookup = mapLookup({ 'intranet.test': ['10.0.0.1'] });
  const error = await refusal(fetcher({ allowHosts: [], lookup }).fetchPage('http://intranet.test/'));
  assert.equal(error.code, RelayErrorCode.RELAY_BLOCKED_ADDRESS);
});

test('refuses a host name when any one of its addresses is private', async () => {
  const lookup = mapLookup({ 'mixed.test': ['93.184.215.14', '192.168.0.10'] });
  const error = await refusal(fetcher({ allowHosts: [], lookup }).fetchPage('http://mixed.test/'));
  assert.equal(error.code, RelayErrorCode.RELAY_BLOCKED_ADDRESS);
  assert.match(error.message, /192\.168\.0\.10/);
});

test('reports a name that does not resolve as a retryable DNS failure', async () => {
  const error = await refusal(fetcher({ allowHosts: [], lookup: mapLookup({}) }).fetchPage('http://nowhere.test/'));
  assert.equal(error.code, RelayErrorCode.RELAY_DNS_FAILED);
  assert.equal(error.retryable, true);
});

test('fetches an allowed host name through the lookup and sends it as the Host', async () => {
  const before = site.requests.length;
  const lookup = mapLookup({ 'site.test': ['127.0.0.1'] });
  const page = await fetcher({ allowHosts: ['SITE.test'], lookup }).fetchPage(`http://site.test:${site.port}/page`);
  assert.equal(page.finalUrl, `http://site.test:${site.port}/page`);
  assert.equal(site.requests[before]?.headers.host, `site.test:${site.port}`);
});

for (const [label, target] of [
  ['127.0.0.2', (port: number) => `http://127.0.0.2:${port}/page`],
  ['localhost', (port: number) => `http://localhost:${port}/page`],
  ['[::1]', (port: number) => `http://[::1]:${port}/page`],
  ['a name resolving to 10.0.0.1', () => 'http://intranet.test/'],
] as const) {
  test(`refuses a redirect from an allowed host to ${label}`, async () => {
    const lookup = mapLookup({ 'intranet.test': ['10.0.0.1'], localhost: ['127.0.0.1'] });
    const location = encodeURIComponent(target(site.port));
    const before = site.requests.length;
    const error = await refusal(fetcher({ lookup }).fetchPage(`${site.origin}/to?location=${location}`));
    assert.equal(error.code, RelayErrorCode.RELAY_BLOCKED_ADDRESS);
    assert.equal(site.requests.length, before + 1, 'only the redirecting page was requested');
  });
}

test('refuses a redirect to file:', async () => {
  const error = await refusal(fetcher().fetchPage(`${site.origin}/to?location=${encodeURIComponent('file:///etc/passwd')}`));
  assert.equal(error.code, RelayErrorCode.RELAY_BAD_SCHEME);
});

for (const url of ['file:///etc/passwd', 'ftp://127.0.0.1/file.html', 'data:text/html,<p>hi</p>', 'javascript:alert(1)', 'ws://127.0.0.1/']) {
  test(`refuses the scheme of ${url}`, async () => {
    const error = await refusal(fetcher().fetchPage(url));
    assert.equal(error.code, RelayErrorCode.RELAY_BAD_SCHEME);
    assert.equal(error.retryable, false);
  });
}

test('refuses a string that is not a URL', async () => {
  const error = await refusal(fetcher().fetchPage('not a url'));
  assert.equal(error.code, RelayErrorCode.RELAY_BAD_URL);
});

test('restricts an allowed host with a port to that port', async () => {
  const other = await startLocalServer((_req, res) => html(res, PAGE));
  try {
    const restricted = fetcher({ allowHosts: [`127.0.0.1:${site.port}`] });
    assert.equal((await restricted.fetchPage(`${site.origin}/page`)).status, 200);
    const error = await refusal(restricted.fetchPage(`${other.origin}/page`));
    assert.equal(error.code, RelayErrorCode.RELAY_BLOCKED_ADDRESS);
    assert.equal(other.requests.length, 0);
  } finally {
    await other.close();
  }
});

test('refuses a body over the cap announced by Content-Length', async () => {
  const error = await refusal(fetcher({ maxBodyBytes: MIB }).fetchPage(`${site.origin}/big`));
  assert.equal(error.code, RelayErrorCode.RELAY_BODY_TOO_LARGE);
  assert.equal(error.retryable, false);
});

test('stops reading a chunked body once it passes the cap', async () => {
  const error = await refusal(fetcher({ maxBodyBytes: MIB }).fetchPage(`${site.origin}/big-chunked`));
  assert.equal(error.code, RelayErrorCode.RELAY_BODY_TOO_LARGE);
});

test('stops inflating a small gzip body once the decoded size passes the cap', async () => {
  assert.ok(GZIP_BOMB.length < 64 * 1024, 'the bomb itself is small');
  const error = await refusal(fetcher({ maxBodyBytes: MIB }).fetchPage(`${site.origin}/bomb`));
  assert.equal(error.code, RelayErrorCode.RELAY_BODY_TOO_LARGE);
  assert.match(error.message, /decoded/);
});

test('undoes two gzip layers of an ordinary page', async () => {
  const page = await fetcher().fetchPage(`${site.origin}/nested`);
  assert.equal(page.body.toString('utf8'), PAGE);
});

test('caps every decoding layer: a gzip, gzip body whose middle layer is 40 MiB is refused though the page is small', async () => {
  assert.ok(NESTED_PADDED.length < MIB, 'as sent, it is small');
  // The ratio set out of the way: the middle layer's size alone refuses it.
  const error = await refusal(fetcher({ maxBodyBytes: 10 * MIB, maxCompressionRatio: 1e6 }).fetchPage(`${site.origin}/nested-padded`));
  assert.equal(error.code, RelayErrorCode.RELAY_BODY_TOO_LARGE);
  assert.match(error.message, /layer 1 of 2/);
  assert.equal(error.retryable, false);
});

test('caps the compression ratio: a layer growing more than maxCompressionRatio times is a bomb (RELAY_DECODED_TOO_LARGE)', async () => {
  for (const path of ['/nested-padded', '/bomb']) {
    const error = await refusal(fetcher({ maxBodyBytes: 64 * MIB }).fetchPage(`${site.origin}${path}`));
    assert.equal(error.code, RelayErrorCode.RELAY_DECODED_TOO_LARGE, path);
    assert.equal(error.retryable, false);
  }
  const page = await fetcher({ maxBodyBytes: 64 * MIB, maxCompressionRatio: 1e6 }).fetchPage(`${site.origin}/bomb`);
  assert.equal(page.body.length, 16 * MIB + 18, 'a higher ratio lets it through');
});

test('times out a body that drips one byte every 200 ms', async () => {
  const error = await refusal(fetcher({ timeoutMs: 1000 }).fetchPage(`${site.origin}/drip`));
  assert.equal(error.code, RelayErrorCode.RELAY_TIMEOUT);
  assert.equal(error.retryable, true);
});

test('ends with RELAY_ABORTED when the caller aborts', async () => {
  const controller = new AbortController();
  const pending = fetcher().fetchPage(`${site.origin}/drip`, { signal: controller.signal });
  setTimeout(() => controller.abort(), 300);
  const error = await refusal(pending);
  assert.equal(error.code, RelayErrorCode.RELAY_ABORTED);
});

test('close() aborts the fetches under way and refuses new ones', async () => {
  const closing = createPageFetcher({ allowHosts: ['127.0.0.1'] });
  const pending = closing.fetchPage(`${site.origin}/drip`);
  setTimeout(() => void closing.close(), 300);
  assert.equal((await refusal(pending)).code, RelayErrorCode.RELAY_ABORTED);
  assert.equal((await refusal(closing.fetchPage(`${site.origin}/page`))).code, RelayErrorCode.RELAY_ABORTED);
});

test('refuses a non-HTML content type', async () => {
  const error = await refusal(fetcher().fetchPage(`${site.origin}/pdf`));
  assert.equal(error.code, RelayErrorCode.RELAY_CONTENT_TYPE);
  assert.match(error.message, /application\/pdf/);
});

test('refuses an answer with no content type', async () => {
  const error = await refusal(fetcher().fetchPage(`${site.origin}/no-type`));
  assert.equal(error.code, RelayErrorCode.RELAY_CONTENT_TYPE);
});

test('fetches other content types when allowedContentTypes lists them', async () => {
  const page = await fetcher({ allowedContentTypes: ['application/pdf'] }).fetchPage(`${site.origin}/pdf`);
  assert.equal(page.body.toString(), '%PDF-1.7');
});

test('reports a 404 as a non-retryable HTTP status', async () => {
  const error = await refusal(fetcher().fetchPage(`${site.origin}/404`));
  assert.equal(error.code, RelayErrorCode.RELAY_HTTP_STATUS);
  assert.equal(error.status, 404);
  assert.equal(error.retryable, false);
  assert.equal(error.retryAfterMs, undefined);
});

test('reports a 503 as retryable, with its Retry-After in milliseconds', async () => {
  const error = await refusal(fetcher().fetchPage(`${site.origin}/503`));
  assert.equal(error.code, RelayErrorCode.RELAY_HTTP_STATUS);
  assert.equal(error.status, 503);
  assert.equal(error.retryable, true);
  assert.equal(error.retryAfterMs, 120_000);
});

test('reports a body that is not the gzip it claims as a bad encoding', async () => {
  const error = await refusal(fetcher().fetchPage(`${site.origin}/bad-gzip`));
  assert.equal(error.code, RelayErrorCode.RELAY_BAD_ENCODING);
});

test('reports an unknown Content-Encoding as a bad encoding', async () => {
  const error = await refusal(fetcher().fetchPage(`${site.origin}/compress`));
  assert.equal(error.code, RelayErrorCode.RELAY_BAD_ENCODING);
  assert.match(error.message, /compress/);
});

test('reports a refused connection to an allowed host as a retryable connect failure', async () => {
  const port = await closedPort();
  const error = await refusal(fetcher().fetchPage(`http://127.0.0.1:${port}/page`));
  assert.equal(error.code, RelayErrorCode.RELAY_CONNECT_FAILED);
  assert.equal(error.retryable, true);
});

test('connects over TLS to the resolved address while sending the host name for SNI', async () => {
  const serverNames: string[] = [];
  // No certificate at all: the handshake fails right after the server has read the SNI.
  const server = tls.createServer({
    SNICallback: (name, callback) => {
      serverNames.push(name);
      callback(new Error('this test server has no certificate'));
    },
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const lookup = mapLookup({ 'secure.test': ['127.0.0.1'] });
    const error = await refusal(fetcher({ allowHosts: ['secure.test'], lookup }).fetchPage(`https://secure.test:${port}/`));
    assert.equal(error.code, RelayErrorCode.RELAY_CONNECT_FAILED);
    assert.deepEqual(serverNames, ['secure.test']);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('the options schema supplies the defaults and rejects a malformed allowed host', () => {
  const defaults = pageFetcherOptionsSchema.parse({});
  assert.deepEqual(defaults.allowHosts, []);
  assert.equal(defaults.maxBodyBytes, 10 * MIB);
  assert.equal(defaults.timeoutMs, 30_000);
  assert.equal(defaults.maxRedirects, 5);
  assert.deepEqual(defaults.allowedContentTypes, ['text/html', 'application/xhtml+xml']);
  assert.throws(() => createPageFetcher({ allowHosts: ['127.0.0.1:99999'] }));
  assert.throws(() => createPageFetcher({ allowHosts: ['[::1'] }));
});
