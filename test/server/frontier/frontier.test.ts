import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { SqliteStorage } from '../../../server/storage/sqlite/sqlite-storage.ts';
import type { NewRequest } from '../../../server/storage/storage.ts';
import { CrawlFrontier, type FrontierEntry, type GateVerdict } from '../../../server/frontier/frontier.ts';
import { tempDir } from '../../helpers/hub.ts';

const dirs: { remove(): void }[] = [];
after(() => {
  for (const dir of dirs) dir.remove();
});

async function newStorage(): Promise<SqliteStorage> {
  const dir = tempDir('crowdcrawl-frontier-');
  dirs.push(dir);
  const storage = SqliteStorage.open(dir.path);
  await storage.createCrawl({ id: 'c', name: 'c', spec: '{}', specVersion: 1, createdAt: Date.now(), startUrls: [], sources: [] });
  return storage;
}

const request = (url: string, host: string, depth = 0): NewRequest => ({ url, key: url, host, depth });

/** Storage queues the URLs (as a sitemap's would be), then tells the frontier, as the engine does. */
async function add(storage: SqliteStorage, frontier: CrawlFrontier, urls: NewRequest[]): Promise<void> {
  const { queued } = await storage.completeSource('c', 'test:', { attempts: 1, at: Date.now(), sources: [], urls, budget: urls.length });
  frontier.added(queued);
}

async function queue(frontier: CrawlFrontier, storage: SqliteStorage, hosts: number, perHost: number): Promise<void> {
  const urls: NewRequest[] = [];
  for (let i = 0; i < perHost; i++) for (let h = 0; h < hosts; h++) urls.push(request(`http://h${h}.example/p${i}`, `h${h}.example`));
  await add(storage, frontier, urls);
}

/** Lets the frontier's background reads from storage arrive. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Takes up to `max` entries, letting background reads arrive in between (a few turns at most). */
async function take(frontier: CrawlFrontier, max: number, now: number): Promise<FrontierEntry[]> {
  const out: FrontierEntry[] = [];
  for (let turn = 0; turn < 20 && out.length < max; turn++) {
    out.push(...frontier.take(max - out.length, now));
    if (out.length < max) await settle();
  }
  return out;
}

/** Records a leased entry as done, as the hub does: in storage, then in the frontier. */
function complete(storage: SqliteStorage, frontier: CrawlFrontier, entry: FrontierEntry): void {
  storage.db.prepare('UPDATE requests SET state = 2 WHERE crawl_id = ? AND key = ?').run('c', entry.key);
  frontier.finish(entry);
}

/** Leases and completes everything, one at a time; returns the URLs in lease order. */
async function drain(storage: SqliteStorage, frontier: CrawlFrontier, onTake: () => void = () => {}): Promise<string[]> {
  const leased: string[] = [];
  for (;;) {
    const [entry] = await take(frontier, 1, Date.now());
    if (!entry) break;
    onTake();
    leased.push(entry.url);
    complete(storage, frontier, entry);
  }
  return leased;
}

test('with more hosts than fit in memory, every URL is leased exactly once and the hosts in memory stay bounded', async () => {
  const store = await newStorage();
  const frontier = new CrawlFrontier(store, 'c', { concurrency: 2, delayMs: 0 }, { maxActiveHosts: 8 });
  await queue(frontier, store, 50, 4);
  assert.equal(frontier.hosts.size, 8, 'only 8 hosts in memory');
  assert.equal(frontier.activeHosts.dormant, true, 'the others wait in storage');
  let most = 0;
  const leased = await drain(store, frontier, () => {
    most = Math.max(most, frontier.hosts.size);
  });
  assert.equal(leased.length, 200);
  assert.equal(new Set(leased).size, 200);
  assert.ok(most <= 8, `at most 8 hosts in memory (saw ${most})`);
  assert.equal(frontier.queued, 0);
  assert.equal(frontier.activeHosts.dormant, false);
});

test('a restarted frontier finds its hosts in storage as it leases, without reading a host list first', async () => {
  const store = await newStorage();
  await queue(new CrawlFrontier(store, 'c', { concurrency: 2, delayMs: 0 }), store, 30, 3);
  const restarted = new CrawlFrontier(store, 'c', { concurrency: 2, delayMs: 0 }, { maxActiveHosts: 4 });
  restarted.load(90);
  assert.equal(restarted.hosts.size, 0);
  const leased = await drain(store, restarted);
  assert.equal(new Set(leased).size, 90);
});

test('URLs queued for a host that had to wait in storage are found by a later scan, even behind it', async () => {
  const store = await newStorage();
  const frontier = new CrawlFrontier(store, 'c', { concurrency: 4, delayMs: 0 }, { maxActiveHosts: 2 });
  await queue(frontier, store, 5, 2);
  const [first] = await take(frontier, 1, Date.now());
  // While the scan is under way, a URL of host "a…" (before every other host) is queued.
  await add(store, frontier, [request('http://a.example/late', 'a.example', 1)]);
  complete(store, frontier, first!);
  const leased = await drain(store, frontier);
  assert.ok(leased.includes('http://a.example/late'));
  assert.equal(leased.length + 1, 11);
});

test('the window over many hosts stays small: a host\'s share of the buffer shrinks as hosts are added', async () => {
  const store = await newStorage();
  const frontier = new CrawlFrontier(store, 'c', { concurrency: 64, delayMs: 0 });
  await queue(frontier, store, 2000, 40);
  for (let i = 0; i < 4000; i++) complete(store, frontier, (await take(frontier, 1, Date.now()))[0]!);
  let buffered = 0;
  for (const host of frontier.hosts.values()) buffered += host.buffered;
  assert.ok(buffered <= 16_384, `${buffered} entries in memory for 2000 hosts`);
});

test('a host that leaves memory keeps its politeness: back before its delay is over, it waits', async () => {
  const store = await newStorage();
  const frontier = new CrawlFrontier(store, 'c', { concurrency: 1, delayMs: 60_000 }, { maxActiveHosts: 1 });
  await queue(frontier, store, 2, 1);
  const now = Date.now();
  const [first] = await take(frontier, 1, now);
  complete(store, frontier, first!);
  const [second] = await take(frontier, 1, now);
  assert.notEqual(second!.host, first!.host, 'the first host made room for the second');
  complete(store, frontier, second!);
  await add(store, frontier, [request(`http://${first!.host}/again`, first!.host, 1)]);
  assert.deepEqual(await take(frontier, 1, now + 1000), [], 'its delay is remembered');
  assert.equal((await take(frontier, 1, now + 60_000))[0]?.url, `http://${first!.host}/again`);
});

test('the gate holds a host until released, pauses it until a time, or drops an entry that stays in flight until recorded', async () => {
  const store = await newStorage();
  const frontier = new CrawlFrontier(store, 'c', { concurrency: 4, delayMs: 0 });
  await queue(frontier, store, 3, 2);
  // One instant for the pause and the takes: two Date.now() calls apart could differ on a busy machine.
  const now = Date.now();
  const verdicts = new Map<string, GateVerdict>([['h0.example', 'hold'], ['h1.example', now + 60_000], ['h2.example', 'drop']]);
  const dropped: FrontierEntry[] = [];
  frontier.gate = {
    admit(entry) {
      const verdict = verdicts.get(entry.host) ?? 'lease';
      if (verdict === 'drop') dropped.push(entry);
      return verdict;
    },
  };
  assert.deepEqual(await take(frontier, 10, now), []);
  assert.equal(dropped.length, 2, 'both URLs of the dropped host');
  assert.equal(frontier.inFlight, 2, 'dropped entries count in flight until recorded');
  assert.equal(frontier.queued, 4);
  assert.equal(frontier.getHost('h0.example')!.held, true);
  assert.equal(frontier.nextWakeAt(), now + 60_000, 'the paused host wakes the dispatcher when its pause ends');
  for (const entry of dropped) frontier.finishDropped(entry);
  assert.equal(frontier.inFlight, 0);

  verdicts.delete('h0.example');
  assert.deepEqual(await take(frontier, 10, now), [], 'a held host stays held until released');
  frontier.release('h0.example');
  assert.deepEqual((await take(frontier, 10, now)).map((e) => e.url), ['http://h0.example/p0', 'http://h0.example/p1']);
  verdicts.delete('h1.example');
  assert.deepEqual(await take(frontier, 10, now + 1000), []);
  assert.equal((await take(frontier, 10, now + 60_000)).length, 2);
});
