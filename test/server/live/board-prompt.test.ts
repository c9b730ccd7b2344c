// The board's latency (issue 11): a page's crawl progress reaches subscribers
// within board.promptMs of its commit (a light delta: crawls and totals), not
// with the next round up to a second later; prompts come at most once per
// promptMs however many pages commit, and rows still go once a round. The hub
// runs on a fake clock, so "within" is moved by hand, never waited for.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { BOARD_NAMESPACE, PROTOCOL_VERSION } from '../../../shared/protocol.ts';
import type { BoardDelta } from '../../../shared/board-protocol.ts';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer, type FixtureServer } from '../../fixtures/site/server.ts';
import { operatorToken, quotesSpec, startTestHub, startWorkers, waitForCrawlEnd } from '../../helpers/hub.ts';
import { createFakeClock } from '../../helpers/fake-clock.ts';

let site: FixtureServer;
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: 5 }));
});
after(() => site.close());

const onePage = (n: number) => quotesSpec(site.origin, { name: `one-page-${n}`, startUrls: [site.url(`/page/${n}/`)], follow: [] });

test('a page reaches the board within promptMs of its commit, prompts come at most once per promptMs, rows once a round', async () => {
  const clock = createFakeClock(Date.now());
  // Rounds a minute apart on the fake clock: within this test only prompts (and tick() by hand) broadcast.
  const hub = await startTestHub({ board: { intervalMs: 60_000, promptMs: 250 } }, { clock });
  const received: BoardDelta[] = [];
  const unsubscribe = hub.board.subscribe({ delta: (d) => received.push(d), self: () => {} });
  const page = io(`${hub.url}${BOARD_NAMESPACE}`, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { protocolVersion: PROTOCOL_VERSION } });
  const snapshot = new Promise((resolve) => page.once('board:snapshot', resolve));
  const [worker] = await startWorkers(hub.url, 1, { name: 'alice', token: await operatorToken(hub) });
  try {
    await snapshot;
    const first = await hub.engine.createCrawl(onePage(1));
    await waitForCrawlEnd(hub, first.id);
    assert.equal(received.length, 0, 'nothing yet: the prompt waits for its timer');

    const sent = new Promise<BoardDelta>((resolve) => page.once('board:delta', resolve));
    clock.tick(0);
    assert.equal(received.length, 1, 'the first page after a quiet spell goes out at once');
    const prompt = received[0]!;
    assert.equal(prompt.crawls?.find((c) => c.id === first.id)?.pagesDone, 1);
    assert.equal(prompt.totals?.pages, 1);
    assert.equal(prompt.rows, undefined, 'a prompt carries no rows');
    assert.deepEqual(await sent, prompt, 'and reaches a /board subscriber');

    const second = await hub.engine.createCrawl(onePage(2));
    await waitForCrawlEnd(hub, second.id);
    clock.tick(249);
    assert.equal(received.length, 1, 'a second prompt within promptMs of the first waits');
    clock.tick(1);
    assert.equal(received.length, 2, 'and goes out promptMs after the first');
    assert.equal(received[1]!.crawls?.find((c) => c.id === second.id)?.pagesDone, 1);

    hub.board.tick();
    assert.equal(received.length, 3);
    assert.equal(received[2]!.rows?.find((r) => r.name === 'alice')?.pages, 2, 'the round brings the rows');
    assert.equal(received[2]!.crawls, undefined, 'crawls already sent are not sent again');
  } finally {
    unsubscribe();
    page.disconnect();
    await worker!.stop();
    await hub.cleanup();
  }
});
