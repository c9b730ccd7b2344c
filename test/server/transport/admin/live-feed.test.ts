// The console's live feed works only while a console is open (issue 11): an
// update lists every connected worker, and with thousands of them building one
// a second for nobody cost the hub more than its heartbeats. The feed here is
// attached to a socket.io server of its own (port 0) over a real hub's engine,
// with no timer: the test calls tick() itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket as ServerSocket } from 'socket.io';
import { io } from 'socket.io-client';
import { ADMIN_NAMESPACE } from '../../../../shared/protocol.ts';
import { attachAdminLive } from '../../../../server/transport/admin-socket.ts';
import { AdminSessions } from '../../../../server/transport/admin/session.ts';
import { startTestHub } from '../../../helpers/hub.ts';
import { connectRawWorker } from '../../../helpers/raw-worker.ts';

const TOKEN = 'live-feed-admin-token-0123456789';

test('the admin feed builds no update while no console is connected, and does once one is', async () => {
  const hub = await startTestHub();
  const httpServer = createServer();
  const server = new Server(httpServer);
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  const sessions = new AdminSessions();
  const feed = attachAdminLive(server, hub.engine, { adminToken: TOKEN, sessions, intervalMs: 0 });
  const worker = await connectRawWorker(hub.url, { capacity: 0, name: 'counted' });
  let built = 0;
  const update = feed.live.update.bind(feed.live);
  feed.live.update = () => {
    built++;
    return update();
  };
  // The server side of the console's socket: its disconnect is what the feed reacts to.
  const serverSide = new Promise<ServerSocket>((resolve) => server.of(ADMIN_NAMESPACE).once('connection', resolve));
  const console = io(`${url}${ADMIN_NAMESPACE}`, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token: TOKEN } });
  try {
    await feed.live.tick();
    await feed.live.tick();
    assert.equal(built, 0, 'no console: no update built');

    const first = new Promise<{ workers: unknown[] }>((resolve) => console.once('admin:update', resolve));
    assert.equal((await first).workers.length, 1, 'a console gets the current update when it connects');
    assert.equal(built, 1);
    await hub.engine.createCrawl({ name: 'changes-the-update', startUrls: ['http://127.0.0.1:9/'] }, { start: false });
    const next = new Promise<{ crawls: unknown[] }>((resolve) => console.once('admin:update', resolve));
    await feed.live.tick();
    assert.equal(built, 2, 'with a console open, each tick builds the update');
    assert.equal((await next).crawls.length, 1);

    const gone = new Promise<void>((resolve) => void serverSide.then((s) => s.once('disconnect', () => resolve())));
    console.disconnect();
    await gone;
    await feed.live.tick();
    assert.equal(built, 2, 'the console closed: no update built');
  } finally {
    console.disconnect();
    worker.close();
    feed.close();
    sessions.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await hub.cleanup();
  }
});
