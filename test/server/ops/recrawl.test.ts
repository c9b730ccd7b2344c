// Incremental re-crawls end to end: a real hub, a Node worker, and a local
// site whose pages carry ETags (one page has none, so only its bytes tell).
// The second run asks with If-None-Match, counts 304s and same-bytes pages as
// unchanged, carries their items, still finds the page a changed page now
// links to, and exports only what changed. Retention deletes the oldest run;
// DELETE /api/crawls/:id refuses a running crawl and removes an ended one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { operatorToken, startTestHub, startWorkers, waitForCrawlEnd } from '../../helpers/hub.ts';
import { ADMIN_TOKEN, api } from '../transport/admin/helpers.ts';
import type { NodeWorker } from '../../../server/worker/node-worker.ts';

/** The site: each page's HTML by path; /p/3 sends no ETag. Records every request and its If-None-Match. */
const pages = new Map<string, string>();
const requests: { path: string; ifNoneMatch: string | undefined }[] = [];
const page = (title: string, links: string[]) =>
  `<!doctype html><html><body><h1>${title}</h1>${links.map((l) => `<a href="${l}">${l}</a>`).join('')}</body></html>`;

let site: Server;
let origin: string;
let hub: Awaited<ReturnType<typeof startTestHub>>;
let workers: NodeWorker[];

before(async () => {
  pages.set('/p/1', page('one', ['/p/2', '/p/3']));
  pages.set('/p/2', page('two', []));
  pages.set('/p/3', page('three', []));
  site = createServer((req, res) => {
    const path = req.url ?? '/';
    const ifNoneMatch = req.headers['if-none-match'];
    requests.push({ path, ifNoneMatch });
    const body = pages.get(path);
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    const etag = `"${createHash('sha1').update(body).digest('hex').slice(0, 12)}"`;
    const headers: Record<string, string> = { 'content-type': 'text/html; charset=utf-8' };
    if (path !== '/p/3') headers.etag = etag;
    if (path !== '/p/3' && ifNoneMatch === etag) {
      res.writeHead(304, headers).end();
      return;
    }
    res.writeHead(200, headers).end(body);
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  hub = await startTestHub({ adminToken: ADMIN_TOKEN });
  workers = await startWorkers(hub.url, 1, { token: await operatorToken(hub) });
});
after(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await hub.cleanup();
  await new Promise((resolve) => site.close(resolve));
});

const spec = () => ({
  name: 'changes',
  startUrls: [`${origin}/p/1`],
  items: [{ selector: 'h1', fields: { title: '::text' } }],
  follow: [{}],
  politeness: { obeyRobotsTxt: false, perHostConcurrency: 4, perHostDelayMs: 0 },
});

async function runOnce(scheduleId: string): Promise<string> {
  const ran = (await api(hub, 'POST', `/schedules/${scheduleId}/run`)).body;
  assert.equal(ran.lastRuns[0].state, 'started', JSON.stringify(ran.lastRuns[0]));
  const crawlId = ran.lastRuns[0].crawlId as string;
  await waitForCrawlEnd(hub, crawlId, 30_000);
  return crawlId;
}

async function titles(crawlId: string, query = ''): Promise<string[]> {
  const res = await api(hub, 'GET', `/crawls/${crawlId}/export?format=jsonl${query}`);
  assert.equal(res.status, 200);
  return String(res.body).trim().split('\n').filter(Boolean).map((line) => JSON.parse(line).data.title as string).sort();
}

test('an incremental run revisits with conditional requests, carries unchanged pages, finds new ones, exports only changes; retention and DELETE', async () => {
  const saved = (await api(hub, 'POST', '/specs', { body: { spec: spec() } })).body;
  const schedule = (await api(hub, 'POST', '/schedules', { body: { specId: saved.id, cron: '0 0 1 1 *', timeZone: 'UTC', incremental: true, keepRuns: 2 } })).body;

  const first = await runOnce(schedule.id);
  assert.deepEqual(await titles(first), ['one', 'three', 'two']);
  assert.ok(requests.every((r) => r.ifNoneMatch === undefined), 'the first run asks unconditionally');

  // Page 2 changes and now links to a new page 4; pages 1 and 3 stay as they were.
  pages.set('/p/2', page('two, edited', ['/p/4']));
  pages.set('/p/4', page('four', []));
  requests.length = 0;
  const second = await runOnce(schedule.id);
  const asked = new Map(requests.map((r) => [r.path, r.ifNoneMatch]));
  assert.match(asked.get('/p/1') ?? '', /^"[0-9a-f]{12}"$/, 'page 1 is asked for with its ETag');
  assert.ok(asked.has('/p/2') && asked.get('/p/2') !== undefined, 'so is page 2 (its ETag changed, so it is fetched in full)');
  assert.equal(asked.get('/p/3'), undefined, 'page 3 had no ETag: asked unconditionally, compared by its bytes');
  assert.ok(asked.has('/p/4'), 'the new page, linked from the changed one, is found');

  assert.deepEqual(await titles(second), ['four', 'one', 'three', 'two, edited'], 'unchanged pages keep their items');
  assert.deepEqual(await titles(second, '&changed=true'), ['four', 'two, edited'], '?changed=true: only the items of changed pages');
  const detail = (await api(hub, 'GET', `/crawls/${second}`)).body;
  assert.deepEqual(detail.recrawl, { previousCrawlId: first, pagesUnchanged: 2, itemsCarried: 2 });
  assert.deepEqual([detail.pagesDone, detail.items], [4, 4]);
  const done = (await api(hub, 'GET', `/crawls/${second}/pages?state=done`)).body.pages;
  assert.deepEqual(done.map((p: { url: string; httpStatus: number }) => [new URL(p.url).pathname, p.httpStatus]).sort(), [['/p/1', 304], ['/p/2', 200], ['/p/3', 200], ['/p/4', 200]]);

  // A third run: the schedule keeps 2 runs, so the first one's crawl and data go.
  const third = await runOnce(schedule.id);
  assert.deepEqual(await titles(third, '&changed=true'), [], 'nothing changed');
  assert.equal((await api(hub, 'GET', `/crawls/${first}`)).body.error.code, 'CRAWL_UNKNOWN');
  assert.equal(await hub.storage.countItems(first), 0);
  assert.ok(hub.engine.crawls.get(second), 'the two latest stay');

  // DELETE: a running crawl is refused, an ended one goes with its items.
  const running = (await api(hub, 'POST', '/crawls', { body: { spec: { ...spec(), name: 'other' }, start: false } })).body;
  await api(hub, 'POST', `/crawls/${running.id}/start`);
  await api(hub, 'POST', `/crawls/${running.id}/pause`);
  const refused = await api(hub, 'DELETE', `/crawls/${running.id}`);
  assert.equal(refused.status, 409);
  assert.equal(refused.body.error.code, 'CRAWL_ACTIVE');
  assert.ok(hub.engine.crawls.get(running.id), 'still there');
  assert.equal((await api(hub, 'DELETE', `/crawls/${second}`)).status, 204);
  assert.equal((await api(hub, 'GET', `/crawls/${second}`)).body.error.code, 'CRAWL_UNKNOWN');
  assert.equal(await hub.storage.countItems(second), 0);
  assert.equal((await api(hub, 'DELETE', `/crawls/${second}`)).body.error.code, 'CRAWL_UNKNOWN');
  assert.equal((await hub.storage.listCrawls()).some((c) => c.id === second), false);
});
