// Fault 4 (issue #6): volunteers come and go. Up to 50 Node workers join and
// leave at random during a crawl (some politely, releasing their leases, some
// by dropping their connection), raw workers take leases and vanish, and
// worker processes holding leases are SIGKILLed. The result is still exact.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer, type FixtureServer } from '../../fixtures/site/server.ts';
import { quotesSpec, startTestHub, waitForCrawlEnd } from '../../helpers/hub.ts';
import { connectRawWorker, type RawWorker } from '../../helpers/raw-worker.ts';
import { startNodeWorker, type NodeWorker } from '../../../server/worker/node-worker.ts';
import { helpers, killed, seededRandom, sleep } from './lib.ts';

const PAGES = 600;
let site: FixtureServer;
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: PAGES, tagPages: false }));
  // A slow site (50-150 ms a page), so the crawl lasts while workers come and go.
  site.setHandler(async (req) => {
    if (req.url?.startsWith('/page/')) await sleep(50 + Math.floor(Math.random() * 100));
    return false;
  });
});
after(() => site.close());

test('fault 4: 50 Node workers, raw workers and killed worker processes joining and leaving at random during a crawl: the exact result', async () => {
  const random = seededRandom('fault 4');
  const hub = await startTestHub({ leaseTtlMs: 5000, leaseSweepMs: 100 });
  const nodeWorkers = new Set<NodeWorker>();
  const rawWorkers = new Set<RawWorker>();
  const processes = new Set<ChildProcess>();
  let joined = 0;
  let left = 0;
  let vanished = 0;
  let processesKilled = 0;
  const join1 = async () => {
    const worker = startNodeWorker({ hubUrl: hub.url, name: `churn-${++joined}`, concurrency: random.int(1, 4) });
    nodeWorkers.add(worker);
    await worker.ready();
  };
  try {
    for (let i = 0; i < 10; i++) await join1();
    // Twenty chains of 30 pages, each page linking to the next.
    const crawl = await hub.engine.createCrawl(
      quotesSpec(site.origin, { startUrls: Array.from({ length: 20 }, (_, i) => site.url(`/page/${i * 30 + 1}/`)), politeness: { obeyRobotsTxt: false, perHostConcurrency: 8 } }),
    );
    let peak = nodeWorkers.size;
    while (crawl.status === 'running') {
      // Joins are likelier until 50 workers have been there at once.
      const pJoin = peak < 50 ? 0.7 : 0.3;
      const roll = random.next();
      if (roll < pJoin) {
        if (nodeWorkers.size < 50) await join1();
      } else if (roll < pJoin + 0.1 && nodeWorkers.size > 3) {
        // Leaves politely: releases its leases.
        const worker = [...nodeWorkers][random.int(0, nodeWorkers.size - 1)]!;
        nodeWorkers.delete(worker);
        await worker.stop();
        left++;
      } else if (roll < pJoin + 0.2 && nodeWorkers.size > 3) {
        // Drops its connection mid-work (a closed tab): no release, the hub sees the socket close.
        const worker = [...nodeWorkers][random.int(0, nodeWorkers.size - 1)]!;
        nodeWorkers.delete(worker);
        worker.socket.io.engine.close();
        await worker.stop();
        vanished++;
      } else if (roll < pJoin + 0.26) {
        // A raw worker grabs leases, fetches one, and disappears.
        const raw = await connectRawWorker(hub.url, { capacity: random.int(1, 3), name: 'grabber' });
        rawWorkers.add(raw);
        const leases = await raw.waitForLeases(1, 1000).catch(() => []);
        if (leases[0]) await (await raw.relay(leases[0].id)).text();
        raw.close();
        rawWorkers.delete(raw);
        vanished++;
      } else if (roll < pJoin + 0.29 && processes.size < 2) {
        // A worker process takes leases, fetches their pages, hangs, and is killed.
        const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', join(helpers, 'stuck-worker.ts'), hub.url, String(random.int(1, 3))], {
          stdio: ['ignore', 'pipe', 'ignore'],
        });
        processes.add(child);
        const holdMs = random.int(50, 400);
        const kill = () => void killed(child).then(() => {
          if (processes.delete(child)) processesKilled++;
        });
        createInterface({ input: child.stdout! }).on('line', (line) => {
          if (line.startsWith('HOLDING')) setTimeout(kill, holdMs);
        });
        // One that never gets a lease is killed all the same.
        setTimeout(kill, 3000);
      }
      peak = Math.max(peak, nodeWorkers.size);
      await sleep(random.int(5, 60));
    }
    const summary = await waitForCrawlEnd(hub, crawl.id);
    console.log(`# fault 4: ${joined} joined (peak ${peak} at once), ${left} left, ${vanished} vanished, ${processesKilled} processes killed`);
    assert.equal(summary.finishReason, 'completed');
    assert.equal(summary.pagesDone, PAGES);
    assert.equal(summary.pagesFailed, 0);
    assert.deepEqual((await hub.storage.countByState(crawl.id)), { queued: 0, done: PAGES, failed: 0, skipped: 0 });
    const items = (await Array.fromAsync(hub.storage.iterateItems(crawl.id)));
    assert.equal(items.length, PAGES * 10);
    assert.equal(new Set(items.map((i) => i.data)).size, PAGES * 10, 'no item stored twice');
    assert.equal(hub.engine.leasesInFlight, 0, 'no lease left behind');
    assert.equal(peak, 50, '50 Node workers at once at some point');
    assert.ok(left + vanished >= 10, `workers came and went (${joined} joined, ${left + vanished} left)`);
  } finally {
    await Promise.all([...processes].map((child) => killed(child)));
    for (const raw of rawWorkers) raw.close();
    await Promise.all([...nodeWorkers].map((w) => w.stop()));
    await hub.cleanup();
  }
});
