// Heartbeats by the work (server/transport/liveness.ts, issue 11): socket.io's
// own heartbeat is slow (pingIntervalMs, 25 s), and a worker holding leases
// that has been silent for silentWorkerProbeMs gets an engine.io ping of its
// own. A worker that answers stays; an idle one (no leases) is never probed.
// The hub's clock is fake: the probe's timing is moved by hand. A cut-off
// worker that cannot answer is fault 3 (test/server/faults/worker-vanish.test.ts).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket as ServerSocket } from 'socket.io';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer, type FixtureServer } from '../../fixtures/site/server.ts';
import { quotesSpec, startTestHub, type TestHub } from '../../helpers/hub.ts';
import { connectRawWorker, type RawWorker } from '../../helpers/raw-worker.ts';
import { createFakeClock } from '../../helpers/fake-clock.ts';

let site: FixtureServer;
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: 3 }));
});
after(() => site.close());

/** The hub's side of a worker's socket, with the pings the hub sends on it counted. */
function serverSide(hub: TestHub, worker: RawWorker): { socket: ServerSocket; pings: () => number } {
  const socket = [...hub.io.sockets.sockets.values()].find((s) => (s.data as { workerId?: string }).workerId === worker.welcome.workerId)!;
  let pings = 0;
  socket.conn.on('packetCreate', (packet: { type: string }) => {
    if (packet.type === 'ping') pings++;
  });
  return { socket: socket as unknown as ServerSocket, pings: () => pings };
}

test('a silent worker holding leases is pinged after silentWorkerProbeMs and stays when it answers; an idle one is not pinged', async () => {
  const clock = createFakeClock(Date.now());
  // socket.io's own heartbeat far away: every ping seen here is a probe.
  const hub = await startTestHub({ pingIntervalMs: 120_000, pingTimeoutMs: 10_000, silentWorkerProbeMs: 5000 }, { clock });
  const busy = await connectRawWorker(hub.url, { capacity: 1, name: 'busy' });
  const idle = await connectRawWorker(hub.url, { capacity: 0, name: 'idle' });
  try {
    const busySide = serverSide(hub, busy);
    const idleSide = serverSide(hub, idle);
    await hub.engine.createCrawl(quotesSpec(site.origin, { follow: [] }));
    await busy.waitForLeases(1);
    await busy.quiet();

    await clock.tickAsync(4000);
    assert.equal(busySide.pings(), 0, 'not silent long enough yet');
    const pong = new Promise<void>((resolve) => busySide.socket.conn.once('heartbeat', () => resolve()));
    await clock.tickAsync(2000);
    assert.equal(busySide.pings(), 1, 'silent for silentWorkerProbeMs while holding a lease: pinged');
    await pong;
    // Past the probe's pingTimeoutMs: the answer counts, nothing is cut.
    await clock.tickAsync(4900);
    const second = new Promise<void>((resolve) => busySide.socket.conn.once('heartbeat', () => resolve()));
    await clock.tickAsync(4900);
    assert.ok(busySide.pings() >= 2, 'still silent and holding: pinged again silentWorkerProbeMs after its answer');
    await second;
    await clock.tickAsync(6000);
    assert.ok(hub.engine.workers.get(busy.welcome.workerId), 'it answered: still connected');
    assert.equal(hub.engine.leasesHeldBy(busy.welcome.workerId), 1, 'and still holding its lease');
    assert.equal(idleSide.pings(), 0, 'a worker holding no leases is left to socket.io\'s heartbeat');
    assert.ok(hub.engine.workers.get(idle.welcome.workerId));
  } finally {
    busy.close();
    idle.close();
    await hub.cleanup();
  }
});
