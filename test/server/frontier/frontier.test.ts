import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../../server/storage/db.ts';
import { Store } from '../../../server/storage/store.ts';
import { CrawlFrontier, type FrontierEntry, type GateVerdict } from '../../../server/frontier/frontier.ts';
import { tempDir } from '../../helpers/hub.ts';

const dirs: { remove(): void }[] = [];
after(() => {
  for (const dir of dirs) dir.remove();
});

function newStore(): Store {
  const dir = tempDir('crowdcrawl-frontier-');
  dirs.push(dir);
  const store = new Store(openDatabase(dir.path));
  store.insertCrawl('c', 'c', '{}', 1, 'running', Date.now());
  return store;
}

function queue(frontier: CrawlFrontier, store: Store, hosts: number, perHost: number): void {
  store.transaction(() => {
    for (let i = 0; i < perHost; i++) {
      for (let h = 0; h < hosts; h++) {
        const url = `http://h${h}.example/p${i}`;
        frontier.add(url, url, `h${h}.example`, 0);
      }
    }
  });
}

/** Records a leased entry as done, as the hub does: in storage, then in the frontier. */
function complete(store: Store, frontier: CrawlFrontier, entry: FrontierEntry): void {
  store.db.prepare('UPDATE requests SET state = 2 WHERE crawl_id = ? AND key = ?').run('c', entry.key);
  frontier.finish(entry);
}

/** Leases and completes everything, one at a time; returns the URLs in lease order. */
function drain(store: Store, frontier: CrawlFrontier, onTake: () => void = () => {}): string[] {
  const leased: string[] = [];
  for (;;) {
    const [entry] = frontier.take(1, Date.now());
    if (!entry) break;
    onTake();
    leased.push(entry.url);
    complete(store, frontier, entry);
  }
  return leased;
}

test('with more hosts than fit in memory, every URL is leased exactly once and the hosts in memory stay bounded', () => {
  const store = newStore();
  const frontier = new CrawlFrontier(store, 'c', { concurrency: 2, delayMs: 0 }, { maxActiveHosts: 8 });
  queue(frontier, store, 50, 4);
  assert.equal(frontier.hosts.size, 8, 'only 8 hosts in memory');
  assert.equal(frontier.activeHosts.dormant, true, 'the others wait in storage');
  let most = 0;
  const leased = drain(store, frontier, () => {
    most = Math.max(most, frontier.hosts.size);
  });
  assert.equal(leased.length, 200);
  assert.equal(new Set(leased).size, 200);
  assert.ok(most <= 8, `at most 8 hosts in memory (saw ${most})`);
  assert.equal(frontier.queued, 0);
  assert.equal(frontier.activeHosts.dormant, false);
});

test('a restarted frontier finds its hosts in storage as it leases, without reading a host list first', () => {
  const store = newStore();
  queue(new CrawlFrontier(store, 'c', { concurrency: 2, delayMs: 0 }), store, 30, 3);
  const restarted = new CrawlFrontier(store, 'c', { concurrency: 2, delayMs: 0 }, { maxActiveHosts: 4 });
  restarted.load(90);
  assert.equal(restarted.hosts.size, 0);
  const leased = drain(store, restarted);
  assert.equal(new Set(leased).size, 90);
});

test('URLs queued for a host that had to wait in storage are found by a later scan, even behind it', () => {
  const store = newStore();
  const frontier = new CrawlFrontier(store, 'c', { concurrency: 4, delayMs: 0 }, { maxActiveHosts: 2 });
  queue(frontier, store, 5, 2);
  const [first] = frontier.take(1, Date.now());
  // While the scan is under way, a URL of host "a…" (before every other host) is queued.
  store.transaction(() => frontier.add('http://a.example/late', 'http://a.example/late', 'a.example', 1));
  complete(store, frontier, first!);
  const leased = drain(store, frontier);
  assert.ok(leased.includes('http://a.example/late'));
  assert.equal(leased.length + 1, 11);
});

test('the window over many hosts stays small: a host\'s share of the buffer shrinks as hosts are added', () => {
  const store = newStore();
  const frontier = new CrawlFrontier(store, 'c', { concurrency: 64, delayMs: 0 });
  queue(frontier, store, 2000, 40);
  for (let i = 0; i < 4000; i++) complete(store, frontier, frontier.take(1, Date.now())[0]!);
  let buffered = 0;
  for (const host of frontier.hosts.values()) buffered += host.buffered;
  assert.ok(buffered <= 16_384, `${buffered} entries in memory for 2000 hosts`);
});

test('a host that leaves memory keeps its politeness: back before its delay is over, it waits', () => {
  const store = newStore();
  const frontier = new CrawlFrontier(store, 'c', { concurrency: 1, delayMs: 60_000 }, { maxActiveHosts: 1 });
  queue(frontier, store, 2, 1);
  const now = Date.now();
  const [first] = frontier.take(1, now);
  complete(store, frontier, first!);
  const [second] = frontier.take(1, now);
  assert.notEqual(second!.host, first!.host, 'the first host made room for the second');
  complete(store, frontier, second!);
  store.transaction(() => frontier.add(`http://${first!.host}/again`, `http://${first!.host}/again`, first!.host, 1));
  assert.deepEqual(frontier.take(1, now + 1000), [], 'its delay is remembered');
  assert.equal(frontier.take(1, now + 60_000)[0]?.url, `http://${first!.host}/again`);
});

test('the gate holds a host until released, pauses it until a time, or drops an entry that stays in flight until recorded', () => {
  const store = newStore();
  const frontier = new CrawlFrontier(store, 'c', { concurrency: 4, delayMs: 0 });
  queue(frontier, store, 3, 2);
  const verdicts = new Map<string, GateVerdict>([['h0.example', 'hold'], ['h1.example', Date.now() + 60_000], ['h2.example', 'drop']]);
  const dropped: FrontierEntry[] = [];
  frontier.gate = {
    admit(entry) {
      const verdict = verdicts.get(entry.host) ?? 'lease';
      if (verdict === 'drop') dropped.push(entry);
      return verdict;
    },
  };
  const now = Date.now();
  assert.deepEqual(frontier.take(10, now), []);
  assert.equal(dropped.length, 2, 'both URLs of the dropped host');
  assert.equal(frontier.inFlight, 2, 'dropped entries count in flight until recorded');
  assert.equal(frontier.queued, 4);
  assert.equal(frontier.getHost('h0.example')!.held, true);
  assert.equal(frontier.nextWakeAt(), now + 60_000, 'the paused host wakes the dispatcher when its pause ends');
  for (const entry of dropped) frontier.finishDropped(entry);
  assert.equal(frontier.inFlight, 0);

  verdicts.delete('h0.example');
  assert.deepEqual(frontier.take(10, now), [], 'a held host stays held until released');
  frontier.release('h0.example');
  assert.deepEqual(frontier.take(10, now).map((e) => e.url), ['http://h0.example/p0', 'http://h0.example/p1']);
  verdicts.delete('h1.example');
  assert.deepEqual(frontier.take(10, now + 1000), []);
  assert.equal(frontier.take(10, now + 60_000).length, 2);
});
