import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer } from '../../fixtures/site/server.ts';
import { quotesSpec, startTestHub, startWorkers, tempDir, waitForCrawlEnd } from '../../helpers/hub.ts';

const MAIN = new URL('../../../server/cli/main.ts', import.meta.url).pathname;
const PAGES = 40;

type Site = Awaited<ReturnType<typeof startFixtureServer>>;
let site: Site;
const home = tempDir('crowdcrawl-workers-home-');

before(async () => {
  site = await startFixtureServer(quotesSite({ pages: PAGES }));
});
after(async () => {
  await site.close();
  home.remove();
});

interface Running {
  child: ChildProcess;
  output: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function workers(args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, [MAIN, 'workers', ...args], {
    env: { ...process.env, HOME: home.path, CROWDCRAWL_DATA_DIR: home.path, NODE_NO_WARNINGS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => output, exit };
}

const fannedOut = (origin: string) => quotesSpec(origin, { follow: [{ selector: 'li.next a' }, { selector: 'div.quote a[href^="/author/"]' }] });

test('crowdcrawl workers --tabs 2 crawls the site to completion; SIGINT exits cleanly and hands its leases back', async () => {
  const hub = await startTestHub();
  const run = workers(['--hub', hub.url, '--tabs', '2', '--name', 'edge-op']);
  let finishers: Awaited<ReturnType<typeof startWorkers>> = [];
  try {
    const crawl = await hub.engine.createCrawl(fannedOut(site.origin));
    const summary = await waitForCrawlEnd(hub, crawl.id, 120_000);
    assert.equal(summary.finishReason, 'completed', run.output());
    assert.equal(summary.pagesFailed, 0);
    assert.ok(summary.pagesDone > 0);
    assert.deepEqual(await hub.storage.countByState(crawl.id), { queued: 0, done: summary.pagesDone, failed: 0, skipped: 0 }, 'every page done');
    const texts = (await Array.fromAsync(hub.storage.iterateItems(crawl.id))).map((i) => (JSON.parse(i.data) as { text: string }).text);
    assert.equal(texts.length, PAGES * 10);
    assert.equal(new Set(texts).size, texts.length, 'no item twice');
    const sessions = [...hub.engine.workers.all()];
    assert.deepEqual(sessions.map((w) => [w.name, w.kind]), [['edge-op', 'headless'], ['edge-op', 'headless']]);
    assert.ok(sessions.every((w) => w.pagesDone > 0) || sessions.some((w) => w.pagesDone > 0));

    // A second crawl over slow pages, so the tabs hold leases when Ctrl-C comes.
    site.setHandler(async (req) => {
      if (req.url?.startsWith('/page/') || req.url?.startsWith('/author/')) await new Promise((resolve) => setTimeout(resolve, 300));
      return false;
    });
    const second = await hub.engine.createCrawl(fannedOut(site.origin));
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (second.pagesDone >= 3 && hub.engine.leasesInFlight > 0) {
          clearInterval(check);
          resolve();
        }
      }, 20);
    });
    run.child.kill('SIGINT');
    const exit = await run.exit;
    assert.deepEqual(exit, { code: 0, signal: null }, run.output());
    assert.match(run.output(), /stopped after \d+ pages/);
    assert.equal(hub.engine.leasesInFlight, 0, 'no lease is held by the stopped tabs');
    assert.equal(hub.engine.workers.size, 0, 'both tabs have left');
    assert.equal(second.status, 'running');

    site.setHandler(null);
    finishers = await startWorkers(hub.url, 1, { name: 'finisher' });
    const done = await waitForCrawlEnd(hub, second.id, 120_000);
    assert.equal(done.finishReason, 'completed');
    assert.equal(done.pagesFailed, 0);
    assert.ok(done.pagesDone > 0);
    assert.deepEqual(await hub.storage.countByState(second.id), { queued: 0, done: done.pagesDone, failed: 0, skipped: 0 }, 'the pages they held were done by another worker');
  } finally {
    site.setHandler(null);
    if (run.child.exitCode === null) run.child.kill('SIGKILL');
    await Promise.all(finishers.map((w) => w.stop()));
    await hub.cleanup();
  }
});

test('crowdcrawl workers says what is wrong when the browser named by CROWDCRAWL_CHROMIUM is not there', async () => {
  const run = workers(['--hub', 'http://127.0.0.1:9', '--tabs', '1'], { CROWDCRAWL_CHROMIUM: '/nowhere/chromium' });
  const exit = await run.exit;
  assert.equal(exit.code, 1);
  assert.match(run.output(), /CROWDCRAWL_CHROMIUM is set to "\/nowhere\/chromium", but there is no file there/);
});

test('crowdcrawl workers says so when the hub cannot be reached, and when the command line is wrong', async () => {
  const unreachable = workers(['--hub', 'http://127.0.0.1:9', '--tabs', '1']);
  assert.equal((await unreachable.exit).code, 1);
  assert.match(unreachable.output(), /cannot reach the hub at http:\/\/127\.0\.0\.1:9/);

  const bad = workers(['--tabs', 'many']);
  assert.equal((await bad.exit).code, 2);
  assert.match(bad.output(), /--tabs must be a whole number/);
});

test('crowdcrawl workers with an operator\'s token ($CROWDCRAWL_WORKER_TOKEN): the tabs are believed without checks', async () => {
  const hub = await startTestHub();
  const { token } = await hub.engine.trust.issueToken('edge machine 1');
  const run = workers(['--hub', hub.url, '--tabs', '1', '--name', 'edge-trusted'], { CROWDCRAWL_WORKER_TOKEN: token });
  try {
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { startUrls: [1, 2, 3].map((n) => site.url(`/page/${n}/`)), follow: [] }));
    const summary = await waitForCrawlEnd(hub, crawl.id, 120_000);
    assert.equal(summary.pagesDone, 3, run.output());
    assert.deepEqual([summary.validation.trusted, summary.validation.checked, summary.validation.extraExtractions], [3, 0, 0]);
    assert.deepEqual([...hub.engine.workers.all()].map((w) => [w.name, w.operatorTrusted]), [['edge-trusted', true]]);
  } finally {
    run.child.kill('SIGKILL');
    await hub.cleanup();
  }
});

test('crowdcrawl workers refuses a token that cannot be one (exit 2)', async () => {
  const run = workers(['--hub', 'http://127.0.0.1:9', '--token', 'short']);
  assert.equal((await run.exit).code, 2);
  assert.match(run.output(), /--token: a worker token is 16 to 200 characters/);
});
