// What a hostile volunteer could do to a running hub before validation, each
// now refused: failing every lease to fail the crawl, asking the relay for one
// lease many times to hammer a site, holding more leases than its share from
// one address, and passing itself off as an operator's worker.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer } from '../../fixtures/site/server.ts';
import { operatorToken, quotesSpec, startTestHub, startWorkers, waitForCrawlEnd } from '../../helpers/hub.ts';
import { connectRawWorker } from '../../helpers/raw-worker.ts';
import { waitFor } from '../../helpers/wait.ts';
import { PROTOCOL_VERSION } from '../../../shared/protocol.ts';
import { startNodeWorker } from '../../../server/worker/node-worker.ts';

type Server = Awaited<ReturnType<typeof startFixtureServer>>;
let site: Server;
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: 20 }));
});
after(() => site.close());

const everyPage = (n: number) => quotesSpec(site.origin, { startUrls: Array.from({ length: n }, (_, i) => site.url(`/page/${i + 1}/`)), follow: [] });

test('failure griefing: a worker that fails every lease, fetched or not, cannot fail a page; the crawl finishes with every page done', async () => {
  const hub = await startTestHub();
  const griefer = await connectRawWorker(hub.url, { capacity: 20, name: 'griefer' });
  try {
    const crawl = await hub.engine.createCrawl(everyPage(20));
    // Every lease it gets, once each: every other one after fetching it through the relay (the hub then has the
    // bytes and decides the page itself), the rest without (the page simply goes back, no attempt used).
    let handled = 0;
    while (handled < 60) {
      const lease = griefer.leases[handled];
      if (!lease) {
        await griefer.quiet();
        if (!griefer.leases[handled]) break;
        continue;
      }
      handled++;
      if (handled % 2 === 0) await (await griefer.relay(lease.id)).text();
      const reply = await griefer.socket.emitWithAck('failure', { leaseId: lease.id, code: 'EXTRACT_FAILED', message: 'I say so' });
      assert.equal(reply.ok, true);
    }
    assert.equal(crawl.pagesFailed, 0, 'no page failed on its word');
    griefer.close();
    const [honest] = await startWorkers(hub.url, 1);
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.status, 'finished');
    assert.deepEqual([summary.pagesDone, summary.pagesFailed, summary.items], [20, 0, 200]);
    // The pages it fetched were decided from the relay's bytes: the site was asked for each page once.
    for (let p = 1; p <= 20; p++) assert.equal(site.requestsFor(`/page/${p}/`) >= 1, true);
    await honest!.stop();
  } finally {
    griefer.close();
    await hub.cleanup();
  }
});

test('relay amplification: 20 concurrent relay requests for one lease make one fetch of the site', async () => {
  const hub = await startTestHub();
  const w = await connectRawWorker(hub.url, { capacity: 1 });
  try {
    await hub.engine.createCrawl(quotesSpec(site.origin, { startUrls: [site.url('/page/7/')], follow: [] }));
    const [lease] = await w.waitForLeases(1);
    const before = site.requestsFor('/page/7/');
    const answers = await Promise.all(Array.from({ length: 20 }, () => w.relay(lease!.id).then(async (r) => [r.status, await r.text()] as const)));
    assert.equal(site.requestsFor('/page/7/') - before, 1, 'one fetch of the site');
    assert.ok(answers.every(([status]) => status === 200));
    assert.equal(new Set(answers.map(([, body]) => body)).size, 1, 'every request got the same bytes');
  } finally {
    w.close();
    await hub.cleanup();
  }
});

test('a worker with more relay requests open than relay.maxConcurrentPerWorker gets RELAY_BUSY (429)', async () => {
  const hub = await startTestHub({ relay: { maxConcurrentPerWorker: 2 } });
  const w = await connectRawWorker(hub.url, { capacity: 3 });
  const held: (() => void)[] = [];
  site.setHandler((req, res) => {
    if (!/^\/page\/1[123]\/$/.test(req.url ?? '')) return false;
    held.push(() => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body>slow</body></html>');
    });
    return true;
  });
  try {
    await hub.engine.createCrawl(quotesSpec(site.origin, { startUrls: [11, 12, 13].map((n) => site.url(`/page/${n}/`)), follow: [] }));
    const leases = await w.waitForLeases(3);
    const first = [w.relay(leases[0]!.id), w.relay(leases[1]!.id)];
    await waitFor(() => held.length === 2);
    const third = await w.relay(leases[2]!.id);
    assert.equal(third.status, 429);
    assert.equal(((await third.json()) as { error: { code: string } }).error.code, 'RELAY_BUSY');
    for (const release of held.splice(0)) release();
    assert.deepEqual((await Promise.all(first)).map((r) => r.status), [200, 200]);
    // With a slot free again the same request goes through.
    const again = w.relay(leases[2]!.id);
    await waitFor(() => held.length === 1);
    held.pop()!();
    assert.equal((await again).status, 200);
  } finally {
    site.setHandler(null);
    w.close();
    await hub.cleanup();
  }
});

test('the workers of one address hold at most validation.maxLeasesPerAddress leases together', async () => {
  const hub = await startTestHub({ validation: { maxLeasesPerAddress: 3 } });
  const a = await connectRawWorker(hub.url, { capacity: 5 });
  const b = await connectRawWorker(hub.url, { capacity: 5 });
  try {
    await hub.engine.createCrawl(everyPage(20));
    await a.waitForLeases(1);
    await a.quiet();
    await b.quiet();
    assert.equal(a.leases.length + b.leases.length, 3);
    assert.equal(hub.engine.leasesInFlight, 3);
  } finally {
    a.close();
    b.close();
    await hub.cleanup();
  }
});

test('worker tokens: an unknown token is refused (WORKER_TOKEN_UNKNOWN); an operator\'s token is believed; revoking it disconnects its workers', async () => {
  const hub = await startTestHub();
  try {
    const refused = io(hub.url, {
      transports: ['websocket'],
      reconnection: false,
      auth: { protocolVersion: PROTOCOL_VERSION, kind: 'node', name: 'impostor', clientId: 'impostor-client-01', capacity: 1, token: 'cct_made-up-0123456789abcdef' },
    });
    const refusal = await new Promise<{ code?: string }>((resolve) => refused.once('connect_error', (e: Error & { data?: { code: string } }) => resolve(e.data ?? {})));
    refused.disconnect();
    assert.equal(refusal.code, 'WORKER_TOKEN_UNKNOWN');

    const token = await operatorToken(hub);
    const crawl = await hub.engine.createCrawl(everyPage(5));
    const [edge] = await startWorkers(hub.url, 1, { token, name: 'edge' });
    const summary = await waitForCrawlEnd(hub, crawl.id);
    // Believed without checks: no extraction spent on validation.
    assert.deepEqual([summary.pagesDone, summary.validation.checked, summary.validation.trusted, summary.validation.extraExtractions], [5, 0, 5, 0]);
    const [row] = hub.engine.trust.listTokens();
    assert.ok(await hub.engine.trust.revokeToken(row!.id));
    await waitFor(() => [...hub.engine.workers.all()].every((w) => w.name !== 'edge' || !w.operatorTrusted));
    await edge!.stop();
  } finally {
    await hub.cleanup();
  }
});

test('forged shapes are refused at the door: a list for a single-value field, an unknown field (RESULT_INVALID); two strikes ban the browser and its address', async () => {
  const hub = await startTestHub();
  const w = await connectRawWorker(hub.url, { capacity: 3, clientId: 'shape-forger-000001' });
  try {
    await hub.engine.createCrawl(everyPage(3));
    const leases = await w.waitForLeases(3);
    for (const lease of leases) await (await w.relay(lease.id)).text();
    const forgeries: { type: string; data: Record<string, string | string[] | null> }[] = [
      { type: 'item', data: { text: ['a', 'b'], author: 'x' } },
      { type: 'item', data: { text: 'a', author: 'x', price: '9' } },
    ];
    for (const [i, item] of forgeries.entries()) {
      const reply = await w.socket.emitWithAck('result', { leaseId: leases[i]!.id, items: [item], links: [] });
      assert.equal(!reply.ok && reply.error.code, 'RESULT_INVALID', JSON.stringify(item));
    }
    assert.equal(hub.engine.trust.view().contributors.find((c) => c.value === 'shape-forger-000001')?.strikes, 2);
    assert.ok(hub.engine.isBanned('shape-forger-000001', '127.0.0.1'), 'two strikes ban it (and its address)');
    await waitFor(() => !w.socket.connected);
    const other = await connectRawWorker(hub.url, { capacity: 1, clientId: 'shape-forger-000002' }).catch((e: { data?: { code: string } }) => e.data?.code);
    assert.equal(other, 'BANNED', 'its address is banned too');
  } finally {
    w.close();
    await hub.cleanup();
  }
});

test('a Node worker refused for good (an unknown token, an invisible nickname) says why from ready() and stops trying', async () => {
  const hub = await startTestHub();
  try {
    const withToken = startNodeWorker({ hubUrl: hub.url, token: 'cct_not-one-the-hub-issued-0000' });
    await assert.rejects(withToken.ready(), /worker token is not one the hub issued/);
    const invisible = startNodeWorker({ hubUrl: hub.url, name: 'ㅤ' });
    await assert.rejects(invisible.ready(), /U\+3164/);
    await Promise.all([withToken.stop(), invisible.stop()]);
    assert.equal(hub.engine.workers.size, 0);
  } finally {
    await hub.cleanup();
  }
});
