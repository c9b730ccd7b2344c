// robots.txt shared by a fleet (docs/scale-out.md): two hubs' robots caches on
// one PostgreSQL database (its robots table). What one hub fetched, the other
// uses without fetching; once the copy expires, one fetch renews it for both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { startFixtureServer } from '../../fixtures/site/server.ts';
import { createPageFetcher } from '../../../server/relay/fetch-page.ts';
import { RobotsCache, type RobotsRules, type RobotsVerdict } from '../../../server/politeness/robots.ts';
import { PostgresStorage } from '../../../server/storage/postgres/postgres-storage.ts';
import { createTestDatabase } from '../../helpers/postgres.ts';
import { createFakeClock } from '../../helpers/fake-clock.ts';
import { waitFor } from '../../helpers/wait.ts';

const UA = 'crowdcrawl/0.1 (+https://example.com/bot)';
const TTL = 60_000;

async function rulesOf(cache: RobotsCache, origin: string): Promise<RobotsRules> {
  let verdict: RobotsVerdict = cache.peek(origin, UA);
  if (verdict.state === 'pending') {
    await once(cache, 'settled');
    verdict = cache.peek(origin, UA);
  }
  assert.equal(verdict.state, 'ready', JSON.stringify(verdict));
  return (verdict as { rules: RobotsRules }).rules;
}

test('two hubs on one database fetch an origin\'s robots.txt once per expiry: the second uses the copy the first stored', async () => {
  const site = await startFixtureServer(new Map([['/robots.txt', { body: 'User-agent: *\nDisallow: /private/\n', headers: { 'content-type': 'text/plain' } }]]));
  const fetcher = createPageFetcher({ allowHosts: ['127.0.0.1'], timeoutMs: 5000 });
  const db = await createTestDatabase();
  const stores = [await PostgresStorage.open(db.url), await PostgresStorage.open(db.url)];
  const clock = createFakeClock();
  const options = { cacheTtlMs: TTL, errorRetryMs: 50, errorRetryMaxMs: 400, maxAttempts: 3, maxOrigins: 1000 };
  const [a, b] = stores.map((store) => {
    const cache = new RobotsCache(fetcher, options, undefined, clock);
    cache.store = store;
    return cache;
  }) as [RobotsCache, RobotsCache];
  try {
    assert.equal((await rulesOf(a, site.origin)).allows(`${site.origin}/private/x`, 'crowdcrawl'), false);
    assert.equal(site.requestsFor('/robots.txt'), 1);
    const stored = await waitFor(() => stores[0]!.getRobots(site.origin), { message: 'a\'s copy stored' });
    assert.deepEqual(stored, { origin: site.origin, body: 'User-agent: *\nDisallow: /private/\n', fetchedAt: clock.now(), expiresAt: clock.now() + TTL });
    const onB = await rulesOf(b, site.origin);
    assert.equal(onB.allows(`${site.origin}/private/x`, 'crowdcrawl'), false, 'b has the same rules');
    assert.equal(site.requestsFor('/robots.txt'), 1, 'b did not fetch it');
    // Both copies expire; b renews it, a then takes b's copy.
    await clock.tickAsync(TTL);
    b.peek(site.origin, UA);
    await once(b, 'settled');
    assert.equal(site.requestsFor('/robots.txt'), 2);
    await waitFor(async () => (await stores[0]!.getRobots(site.origin))!.fetchedAt === clock.now(), { message: 'b\'s copy stored' });
    a.peek(site.origin, UA);
    await once(a, 'settled');
    assert.equal(site.requestsFor('/robots.txt'), 2, 'a used b\'s fresh copy');
    // An older copy never replaces a newer one.
    await stores[1]!.putRobots({ origin: site.origin, body: null, fetchedAt: 1, expiresAt: 2 });
    assert.equal((await stores[0]!.getRobots(site.origin))!.fetchedAt, clock.now());
  } finally {
    a.close();
    b.close();
    await Promise.all(stores.map((s) => s.close()));
    await fetcher.close();
    await site.close();
    await db.drop();
  }
});
