// The item feed (GET /api/crawls/:id/feed): followed while a crawl runs it
// gives exactly the crawl's final items, in commit order, resumable from any
// cursor; a caught cheater's items come back as withdrawals.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer } from '../../fixtures/site/server.ts';
import { quotesSpec, startTestHub, startWorkers, TEST_ADMIN_TOKEN, waitForCrawlEnd } from '../../helpers/hub.ts';
import { startNodeWorker } from '../../../server/worker/node-worker.ts';
import { extractHtml } from '../../../server/extract/cheerio.ts';
import type { Hub } from '../../../server/app.ts';

type Server = Awaited<ReturnType<typeof startFixtureServer>>;
let site: Server;
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: 30, tagPages: false }));
});
after(() => site.close());

interface FeedLine {
  cursor: number;
  id?: number;
  withdrawn?: number;
  url?: string;
  data?: Record<string, unknown>;
}

async function feed(hub: Hub, crawlId: string, query: string, onChunk?: () => void): Promise<FeedLine[]> {
  const res = await fetch(`${hub.url}/api/crawls/${crawlId}/feed?${query}`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/x-ndjson; charset=utf-8');
  let text = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body!) {
    text += decoder.decode(chunk, { stream: true });
    onChunk?.();
  }
  assert.ok(text === '' || text.endsWith('\n'));
  return text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as FeedLine);
}

/** What a consumer holds after applying the lines: items by id, withdrawals removing them. */
function apply(lines: readonly FeedLine[]): Map<number, string> {
  const held = new Map<number, string>();
  for (const line of lines) {
    if (line.withdrawn !== undefined) held.delete(line.withdrawn);
    else held.set(line.id!, JSON.stringify(line.data));
  }
  return held;
}

async function storedItems(hub: Hub, crawlId: string): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for await (const item of hub.storage.iterateItems(crawlId)) out.set(item.id, JSON.stringify(JSON.parse(item.data)));
  return out;
}

test('following a crawl from its start gives its items as they commit, and exactly its final items; a cursor resumes it', async () => {
  const hub = await startTestHub();
  try {
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin), { start: false });
    const statusWhenRead: string[] = [];
    const followed = feed(hub, crawl.id, 'follow=true', () => statusWhenRead.push(hub.engine.crawls.get(crawl.id)!.status));
    await hub.engine.control(crawl.id, 'start');
    const workers = await startWorkers(hub.url, 2);
    try {
      const lines = await followed;
      const summary = await waitForCrawlEnd(hub, crawl.id);
      assert.equal(summary.status, 'finished');
      assert.equal(summary.items, 300);
      assert.ok(statusWhenRead.includes('running'), 'entries came while the crawl ran, not only at its end');
      const cursors = lines.map((l) => l.cursor);
      assert.ok(cursors.every((c, i) => i === 0 || c > cursors[i - 1]!), 'cursors increase');
      assert.equal(lines.length, 300);
      assert.deepEqual(apply(lines), await storedItems(hub, crawl.id), 'exactly the final items');
      assert.equal(lines[0]!.url, `${site.origin}/page/1/`);

      // Resumed from the 120th entry: exactly the rest, the same lines.
      assert.deepEqual(await feed(hub, crawl.id, `after=${cursors[119]}`), lines.slice(120));
      assert.deepEqual(await feed(hub, crawl.id, `after=${cursors.at(-1)}&follow=true`), [], 'an ended crawl: the follow ends at once');
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  } finally {
    await hub.cleanup();
  }
});

test('a cheater caught after the crawl: its items come back in the feed as withdrawals, then the hub\'s own items', async () => {
  // Checked for its first two results (probation, then a check rate of 1/1), then believed: it forges from its third.
  const hub = await startTestHub({ validation: { probationResults: 1, minCheckRate: 0.0001, replicaWaitMs: 0 } }, { random: () => 0.99 });
  let results = 0;
  const cheater = startNodeWorker({
    hubUrl: hub.url,
    name: 'patient',
    clientId: 'patient-client-0001',
    concurrency: 1,
    extract: (html, spec, pageUrl, depth) => {
      const output = extractHtml(html, spec, pageUrl, { depth });
      if (++results <= 2) return output;
      return { ...output, items: output.items.map((item) => ({ ...item, data: { ...item.data, text: 'FORGED' } })) };
    },
  });
  try {
    await cheater.ready();
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { startUrls: [1, 2, 3, 4, 5, 6].map((p) => `${site.origin}/page/${p}/`), follow: [] }));
    await waitForCrawlEnd(hub, crawl.id);
    const before = await feed(hub, crawl.id, 'after=0');
    const forgedIds = before.filter((l) => l.data?.text === 'FORGED').map((l) => l.id!);
    assert.equal(forgedIds.length, 40, 'four pages got in on trust, forged');

    await hub.engine.ban({ clientId: 'patient-client-0001' }, 'test');
    await hub.engine.trust.recheck;
    const since = await feed(hub, crawl.id, `after=${before.at(-1)!.cursor}`);
    assert.deepEqual(since.filter((l) => l.withdrawn !== undefined).map((l) => l.withdrawn).sort(), [...forgedIds].sort(), 'every forged item is withdrawn');
    const replacements = since.filter((l) => l.withdrawn === undefined);
    assert.equal(replacements.length, 40, "the hub's own extraction of the four pages");
    assert.ok(replacements.every((l) => l.data?.text !== 'FORGED' && l.id! > Math.max(...forgedIds)));
    assert.ok(since[0]!.cursor > before.at(-1)!.cursor);
    assert.deepEqual(apply([...before, ...since]), await storedItems(hub, crawl.id), 'the whole feed applied is what storage holds');
    assert.deepEqual(apply(await feed(hub, crawl.id, 'after=0')), await storedItems(hub, crawl.id));
  } finally {
    await cheater.stop();
    await hub.cleanup();
  }
});

test('a bad cursor is refused with BAD_REQUEST', async () => {
  const hub = await startTestHub();
  try {
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin), { start: false });
    for (const query of ['after=-1', 'after=x', 'follow=maybe']) {
      const res = await fetch(`${hub.url}/api/crawls/${crawl.id}/feed?${query}`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
      assert.equal(res.status, 400, query);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'BAD_REQUEST');
    }
  } finally {
    await hub.cleanup();
  }
});
