// Fault 3 (issue #6): a worker whose network is cut, not closed. Its TCP
// connection stays open (no FIN, no RST): only the hub's heartbeat can tell.
// A worker holding leases that the hub has heard nothing from for
// silentWorkerProbeMs (5 s) is pinged, and disconnected after pingTimeoutMs
// (10 s) without an answer (server/transport/liveness.ts), so its leases go
// to other workers within 20 s. socket.io's own heartbeat (pingIntervalMs) is
// set past the test here: only the probe can notice. The test runs at the
// test time factor (CROWDCRAWL_TEST_TIME_FACTOR): 1 s and 2 s by default.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer, type FixtureServer } from '../../fixtures/site/server.ts';
import { quotesSpec, startTestHub, operatorToken } from '../../helpers/hub.ts';
import { connectRawWorker } from '../../helpers/raw-worker.ts';
import { scaled } from '../../helpers/wait.ts';
import { hubOptionsSchema } from '../../../server/options.ts';

const PROBE_MS = scaled(5000, 100);
const PING_TIMEOUT_MS = scaled(10_000, 100);
// Leases are re-granted within the heartbeat plus this (5 s at full scale; never under 2 s, for a loaded machine).
const REGRANT_WITHIN_MS = PROBE_MS + PING_TIMEOUT_MS + Math.max(2000, scaled(5000));

let site: FixtureServer;
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: 10 }));
});
after(() => site.close());

interface CuttableProxy {
  url: string;
  /** Stops forwarding in both directions; the sockets stay open, as behind a dead router. */
  cut(): void;
  close(): Promise<void>;
}

/** A TCP proxy to 127.0.0.1:targetPort whose wire can be cut without closing anything. */
async function startProxy(targetPort: number): Promise<CuttableProxy> {
  const pairs: [Socket, Socket][] = [];
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    client.pipe(upstream);
    upstream.pipe(client);
    const ignore = () => {};
    client.on('error', ignore);
    upstream.on('error', ignore);
    pairs.push([client, upstream]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cut() {
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    close() {
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream.destroy();
      }
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

test('fault 3: a worker whose network is cut without closing its connection: its leases go to another worker within 20 s', async () => {
  // The hub's defaults (probe after 5 s of silence, pingTimeout 10 s) times the time factor; socket.io's own pings never come.
  const hub = await startTestHub({ silentWorkerProbeMs: PROBE_MS, pingTimeoutMs: PING_TIMEOUT_MS, pingIntervalMs: 120_000 });
  const proxy = await startProxy(hub.port);
  const doomed = await connectRawWorker(proxy.url, { capacity: 3, name: 'cut-off' });
  // An operator's worker: its results are recorded at once, so the crawl can end on its last answer.
  const other = await connectRawWorker(hub.url, { capacity: 0, name: 'survivor', token: await operatorToken(hub) });
  try {
    const defaults = hubOptionsSchema.parse({});
    assert.equal(defaults.silentWorkerProbeMs + defaults.pingTimeoutMs, 15_000, 'by default the hub notices a silent worker holding leases within 15 s');
    assert.equal(hub.options.silentWorkerProbeMs + hub.options.pingTimeoutMs, PROBE_MS + PING_TIMEOUT_MS);
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { startUrls: [1, 2, 3].map((n) => site.url(`/page/${n}/`)), follow: [] }));
    const held = await doomed.waitForLeases(3);
    let left = 0;
    hub.engine.on('workerLeft', (worker) => {
      if (worker.name === 'cut-off') left = Date.now();
    });
    proxy.cut();
    const cutAt = Date.now();
    await other.socket.emitWithAck('capacity', { capacity: 3 });
    const regranted = await other.waitForLeases(3, REGRANT_WITHIN_MS);
    const elapsedMs = Date.now() - cutAt;
    assert.ok(elapsedMs < REGRANT_WITHIN_MS, `leases re-granted ${elapsedMs} ms after the cut`);
    assert.ok(left > 0 && left - cutAt >= PROBE_MS, 'the hub noticed through its heartbeat, not a closed socket');
    assert.deepEqual(regranted.map((l) => l.url).sort(), held.map((l) => l.url).sort(), 'the same URLs, now with the other worker');
    assert.equal(hub.engine.leasesInFlight, 3);
    for (const lease of regranted) {
      await (await other.relay(lease.id)).text();
      const reply = await other.socket.emitWithAck('result', { leaseId: lease.id, items: [], links: [] });
      assert.equal(reply.ok, true);
    }
    assert.equal(crawl.status, 'finished');
    assert.equal(crawl.pagesDone, 3);
  } finally {
    doomed.close();
    other.close();
    await proxy.close();
    await hub.cleanup();
  }
});
