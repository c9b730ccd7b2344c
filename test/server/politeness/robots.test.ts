import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { startFixtureServer, type FixtureServer } from '../../fixtures/site/server.ts';
import { createPageFetcher, type PageFetcher } from '../../../server/relay/fetch-page.ts';
import { RobotsCache, RobotsRules, robotsToken, originOf, type RobotsOptions, type RobotsVerdict } from '../../../server/politeness/robots.ts';

let site: FixtureServer;
let fetcher: PageFetcher;
before(async () => {
  site = await startFixtureServer(new Map([['/', { body: '<html><body>home</body></html>' }]]));
  fetcher = createPageFetcher({ allowHosts: ['127.0.0.1'], timeoutMs: 1000 });
});
after(async () => {
  await fetcher.close();
  await site.close();
});

const options: RobotsOptions = { cacheTtlMs: 60_000, errorRetryMs: 50, errorRetryMaxMs: 400, maxAttempts: 3, maxOrigins: 1000 };
const UA = 'crowdcrawl/0.1 (+https://example.com/bot)';

function freshCache(overrides: Partial<RobotsOptions> = {}): RobotsCache {
  return new RobotsCache(fetcher, { ...options, ...overrides });
}

/** Waits for the origin's fetch under way to end, then peeks again. */
async function settledVerdict(cache: RobotsCache, origin: string): Promise<RobotsVerdict> {
  const first = cache.peek(origin, UA);
  if (first.state !== 'pending') return first;
  await once(cache, 'settled');
  return cache.peek(origin, UA);
}

function ready(verdict: RobotsVerdict): RobotsRules {
  assert.equal(verdict.state, 'ready', JSON.stringify(verdict));
  return (verdict as { rules: RobotsRules }).rules;
}

test('the robots.txt token is the product name of the user agent, or the compatible crawler it names', () => {
  assert.equal(robotsToken('crowdcrawl/0.1'), 'crowdcrawl');
  assert.equal(robotsToken('MyBot/2.0 (+https://example.com)'), 'mybot');
  assert.equal(robotsToken('Mozilla/5.0 (compatible; crowdcrawl-test/1.0; +https://example.com/bot)'), 'crowdcrawl-test');
  assert.equal(robotsToken('Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1)'), 'mozilla');
  assert.equal(originOf('https://example.com:8443/a', 'example.com:8443'), 'https://example.com:8443');
  assert.equal(originOf('http://example.com/a', 'example.com'), 'http://example.com');
});

test('rules are matched for the crawl\'s own group, else the * group, with Allow beating a shorter Disallow', () => {
  const rules = new RobotsRules('http://example.com', [
    'User-agent: *',
    'Disallow: /private/',
    '',
    'User-agent: crowdcrawl',
    'Disallow: /search',
    'Allow: /search/about',
    'Crawl-delay: 1.5',
    '',
    'Sitemap: http://example.com/sitemap.xml',
  ].join('\n'));
  assert.equal(rules.allows('http://example.com/private/x', 'crowdcrawl'), true, 'our group replaces the * group');
  assert.equal(rules.allows('http://example.com/search?q=a', 'crowdcrawl'), false);
  assert.equal(rules.allows('http://example.com/search/about', 'crowdcrawl'), true);
  assert.equal(rules.matchingLine('http://example.com/search?q=a', 'crowdcrawl'), 5);
  assert.equal(rules.allows('http://example.com/private/x', 'otherbot'), false);
  assert.equal(rules.allows('http://example.com/search', 'otherbot'), true);
  assert.equal(rules.crawlDelayMs('crowdcrawl'), 1500);
  assert.equal(rules.crawlDelayMs('otherbot'), undefined);
  assert.deepEqual(rules.sitemaps(), ['http://example.com/sitemap.xml']);
  const none = new RobotsRules('http://example.com', undefined);
  assert.equal(none.source, 'none');
  assert.equal(none.allows('http://example.com/anything', 'crowdcrawl'), true);
});

test('robots.txt is fetched once per origin, with the crawl\'s user agent, and the pending fetch holds the origin', async () => {
  site.setPage('/robots.txt', { body: 'User-agent: *\nDisallow: /no/\n' });
  site.resetRequests();
  const agents: (string | undefined)[] = [];
  site.setHandler((req) => {
    agents.push(req.headers['user-agent']);
    return false;
  });
  const cache = freshCache();
  assert.equal(cache.peek(site.origin, UA).state, 'pending');
  assert.equal(cache.peek(site.origin, UA).state, 'pending', 'a second look does not start a second fetch');
  const rules = ready(await settledVerdict(cache, site.origin));
  for (let i = 0; i < 10; i++) ready(cache.peek(site.origin, UA));
  assert.equal(site.requestsFor('/robots.txt'), 1);
  assert.equal(rules.allows(`${site.origin}/no/1`, robotsToken(UA)), false);
  assert.equal(rules.allows(`${site.origin}/yes/1`, robotsToken(UA)), true);
  assert.deepEqual(agents, [UA]);
  site.setHandler(null);
  site.setPage('/robots.txt', null);
});

test('a robots.txt served as text/html, without a type, or with a byte order mark is still read', async () => {
  site.setHandler((req, res) => {
    if (req.url !== '/robots.txt') return false;
    res.writeHead(200); // no Content-Type at all
    res.end('\uFEFFUser-agent: *\nDisallow: /x\n');
    return true;
  });
  try {
    const rules = ready(await settledVerdict(freshCache(), site.origin));
    assert.equal(rules.source, 'file');
    assert.equal(rules.allows(`${site.origin}/x`, 'crowdcrawl'), false, 'the BOM did not swallow the first line');
  } finally {
    site.setHandler(null);
  }
});

test('a 404, 401 or 403 robots.txt allows everything, and is cached as such', async () => {
  for (const status of [404, 401, 403]) {
    site.setHandler((req, res) => {
      if (req.url !== '/robots.txt') return false;
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end('no');
      return true;
    });
    site.resetRequests();
    const cache = freshCache();
    const rules = ready(await settledVerdict(cache, site.origin));
    assert.equal(rules.source, 'none', `status ${status}`);
    assert.equal(rules.allows(`${site.origin}/anything`, 'crowdcrawl'), true);
    ready(cache.peek(site.origin, UA));
    assert.equal(site.requestsFor('/robots.txt'), 1, `status ${status} cached`);
  }
  site.setHandler(null);
});

test('a redirect loop on robots.txt counts as no robots.txt (RFC 9309: unavailable)', async () => {
  site.setHandler((req, res) => {
    if (req.url === '/robots.txt' || req.url === '/robots2.txt') {
      res.writeHead(302, { location: req.url === '/robots.txt' ? '/robots2.txt' : '/robots.txt' });
      res.end();
      return true;
    }
    return false;
  });
  try {
    assert.equal(ready(await settledVerdict(freshCache(), site.origin)).source, 'none');
  } finally {
    site.setHandler(null);
  }
});

test('a 5xx robots.txt holds the origin, is fetched again after the backoff, and after maxAttempts the origin gives up', async () => {
  site.setHandler((req, res) => {
    if (req.url !== '/robots.txt') return false;
    res.writeHead(503, { 'content-type': 'text/plain' });
    res.end('down');
    return true;
  });
  site.resetRequests();
  try {
    const cache = freshCache();
    const first = await settledVerdict(cache, site.origin);
    assert.equal(first.state, 'unreachable');
    assert.equal(first.state === 'unreachable' && first.failures, 1);
    assert.match(first.state === 'unreachable' ? first.reason : '', /503/);
    assert.equal(cache.peek(site.origin, UA).state, 'unreachable', 'not fetched again before retryAt');
    assert.equal(site.requestsFor('/robots.txt'), 1);
    let verdict: RobotsVerdict = first;
    while (verdict.state !== 'gaveUp') {
      const retryAt = (verdict as { retryAt: number }).retryAt;
      await new Promise((r) => setTimeout(r, Math.max(0, retryAt - Date.now()) + 5));
      verdict = await settledVerdict(cache, site.origin);
    }
    assert.equal(verdict.failures, 3);
    assert.equal(site.requestsFor('/robots.txt'), 3);
    // Once the site answers again, the next try (after errorRetryMaxMs) reads the file.
    site.setHandler(null);
    site.setPage('/robots.txt', { body: 'User-agent: *\nDisallow: /z\n' });
    await new Promise((r) => setTimeout(r, Math.max(0, verdict.retryAt - Date.now()) + 5));
    const rules = ready(await settledVerdict(cache, site.origin));
    assert.equal(rules.allows(`${site.origin}/z`, 'crowdcrawl'), false);
  } finally {
    site.setHandler(null);
    site.setPage('/robots.txt', null);
  }
});

test('a robots.txt that times out counts as unreachable', async () => {
  site.setHandler((req) => req.url === '/robots.txt'); // never answers
  try {
    const verdict = await settledVerdict(freshCache(), site.origin);
    assert.equal(verdict.state, 'unreachable');
    assert.match(verdict.state === 'unreachable' ? verdict.reason : '', /RELAY_TIMEOUT/);
  } finally {
    site.setHandler(null);
  }
});

test('an expired entry is used while it is fetched again; a failure then keeps the last good copy', async () => {
  site.setPage('/robots.txt', { body: 'User-agent: *\nDisallow: /old\n' });
  site.resetRequests();
  const cache = freshCache({ cacheTtlMs: 200 });
  ready(await settledVerdict(cache, site.origin));
  // Expired once 200 ms have passed since it was fetched (which was before now).
  const expired = Date.now() + 200;
  await new Promise((r) => setTimeout(r, expired - Date.now() + 5));
  site.setHandler((req, res) => {
    if (req.url !== '/robots.txt') return false;
    res.writeHead(500);
    res.end();
    return true;
  });
  try {
    const stale = ready(cache.peek(site.origin, UA));
    assert.equal(stale.allows(`${site.origin}/old`, 'crowdcrawl'), false, 'the stale copy answers at once');
    await once(cache, 'settled');
    assert.equal(site.requestsFor('/robots.txt'), 2, 'fetched again after the expiry');
    const kept = ready(cache.peek(site.origin, UA));
    assert.equal(kept.allows(`${site.origin}/old`, 'crowdcrawl'), false, 'the last good copy is kept over a 500');
  } finally {
    site.setHandler(null);
    site.setPage('/robots.txt', null);
  }
});

test('load() waits for the fetch and gives the Sitemap: lines', async () => {
  site.setPage('/robots.txt', { body: `Sitemap: ${site.origin}/a.xml\nSitemap: ${site.origin}/b.xml.gz\n` });
  try {
    const verdict = await freshCache().load(site.origin, UA);
    assert.deepEqual(ready(verdict).sitemaps(), [`${site.origin}/a.xml`, `${site.origin}/b.xml.gz`]);
  } finally {
    site.setPage('/robots.txt', null);
  }
});

test('the cache keeps at most maxOrigins, dropping the least recently used', async () => {
  const cache = freshCache({ maxOrigins: 2 });
  for (const origin of ['http://127.0.0.1:1', 'http://127.0.0.1:2']) await settledVerdict(cache, origin);
  cache.peek('http://127.0.0.1:1', UA);
  await settledVerdict(cache, 'http://127.0.0.1:3');
  assert.equal(cache.size.origins, 2);
});

/** robots-parser on a one-rule file: the reference the compiled matcher must agree with. */
function referenceDisallows(pattern: string, path: string): boolean {
  const robotsParser = createRequire(import.meta.url)('robots-parser') as (url: string, text: string) => { isAllowed(url: string, ua: string): boolean };
  return !robotsParser('http://example.com/robots.txt', `User-agent: *\nDisallow: ${pattern}\n`).isAllowed(`http://example.com${path}`, 'crowdcrawl');
}

test('runs of * are collapsed (/a**b matches as /a*b) and matching agrees with robots-parser on random rules', () => {
  const rules = new RobotsRules('http://example.com', 'User-agent: *\nDisallow: /a**b\nDisallow: /x***$\nAllow: /a***b/ok$\n');
  assert.deepEqual(rules.rulesFor('crowdcrawl').map((r) => r.pattern), ['/a*b', '/x*$', '/a*b/ok$']);
  for (const [path, allowed] of [['/ab', false], ['/a/c/b', false], ['/a', true], ['/b', true], ['/x', false], ['/xyz', false], ['/ab/ok', true], ['/ab/ok2', false]] as const) {
    assert.equal(rules.allows(`http://example.com${path}`, 'crowdcrawl'), allowed, path);
  }
  // Differential: random patterns and paths over a small alphabet, against the library's own matcher.
  let seed = 42;
  const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const word = (alphabet: string, max: number) => Array.from({ length: random(max) }, () => alphabet[random(alphabet.length)]).join('');
  for (let i = 0; i < 3000; i++) {
    const pattern = '/' + word('ab*$', 7);
    const path = '/' + word('ab$', 8);
    const one = new RobotsRules('http://example.com', `User-agent: *\nDisallow: ${pattern}\n`);
    assert.equal(!one.allows(`http://example.com${path}`, 'crowdcrawl'), referenceDisallows(pattern, path), `${pattern} on ${path}`);
  }
});

test('a hostile robots.txt (a 200 KB rule of *, rules of thousands of *, many /*aaa… rules) is matched in a few searches per rule', async () => {
  const stars = 'Disallow: /' + '*'.repeat(200_000) + 'b';
  const manyStars = 'Disallow: /' + '*'.repeat(2000) + 'c';
  const slow = Array.from({ length: 100 }, (_, i) => `Disallow: /*${'a'.repeat(2000)}b${i}`);
  site.setPage('/robots.txt', { body: ['User-agent: *', stars, manyStars, ...slow, 'Allow: /public/', ''].join('\n') });
  try {
    const rules = ready(await settledVerdict(freshCache(), site.origin));
    const compiled = rules.rulesFor('crowdcrawl');
    assert.equal(compiled.length, 102, 'the 200 KB rule is dropped (longer than maxRuleLength)');
    assert.equal(compiled[0]!.pattern, '/*c', 'its 2,000 stars are one');
    assert.equal(compiled[0]!.line, 3);
    const before = rules.steps.n;
    assert.equal(rules.allows(`${site.origin}/${'a'.repeat(8000)}`, 'crowdcrawl'), true);
    assert.equal(rules.allows(`${site.origin}/${'a'.repeat(4000)}c`, 'crowdcrawl'), false);
    assert.equal(rules.matchingLine(`${site.origin}/${'a'.repeat(4000)}b7`, 'crowdcrawl'), 11);
    assert.ok(rules.steps.n - before <= 3 * 3 * compiled.length, `${rules.steps.n - before} searches for 3 URLs and ${compiled.length} rules`);
    const strict = new RobotsRules(site.origin, `User-agent: *\nDisallow: /${'x'.repeat(20)}\n`, 10);
    assert.equal(strict.rulesFor('crowdcrawl').length, 0, 'maxRuleLength is a setting');
  } finally {
    site.setPage('/robots.txt', null);
  }
});
