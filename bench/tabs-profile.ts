// Where a headless edge tab's CPU goes: runs 2 edge tabs (`crowdcrawl workers`'
// page) on the docs fixture site with Chromium's CPU profiler on in each
// (DevTools protocol: Profiler.start/stop through a CDP session), then prints
// the tabs' self time per category and per page. Not part of `npm run bench`
// (its name has no .bench): `node bench/tabs-profile.ts [pages]`.
// PROFILE_PAGE=contributor profiles the contributor page's headless mode instead (the page edge tabs opened before edge.html).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { docsSite } from '../test/fixtures/site/docs.ts';
import { startFixtureServer } from '../test/fixtures/site/server.ts';
import { launchChromium } from '../server/browser/chromium.ts';
import { ensureClientBuilt } from '../server/cli/client-build.ts';
import { edgeTabUrl, type PageGlobals } from '../server/worker/edge-tabs.ts';
import { docsCrawlSpec, api, root, spawnUntil, stop, waitForEnd, waitForWorkers } from './lib.ts';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string }; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

const PAGES = Number(process.argv[2] ?? 1000);

/** A profile node's category, from its function and script. */
function category(node: ProfileNode): string {
  const { functionName: fn, url } = node.callFrame;
  if (fn === '(garbage collector)') return 'garbage collection';
  if (fn === '(program)') return 'browser native (program: parsing, layout, style, IPC)';
  if (fn === '(idle)') return 'idle';
  if (fn === 'parseFromString') return 'DOMParser (native)';
  if (/socket\.io|engine\.io|index-.*\.js/.test(url) && /emit|decode|encode|onPacket|onData|parse/.test(fn)) return 'socket.io';
  if (/dom-parser|extract|engine-/.test(url)) return 'extraction (script)';
  if (url === '') return `native: ${fn || '(anonymous)'}`;
  return 'page scripts (other)';
}

if (!(await ensureClientBuilt())) throw new Error('the client pages are not built');
const docs = docsSite({ pages: PAGES });
const server = await startFixtureServer(docs);
const browser = await launchChromium();
const dir = mkdtempSync(join(tmpdir(), 'crowdcrawl-profile-'));
const { child: hub, match } = await spawnUntil([join(root, 'bench/hub-process.ts'), dir], /^READY (\S+)/);
const hubUrl = match[1]!;
try {
  const clientId = randomBytes(16).toString('base64url');
  const url = new URL(edgeTabUrl({ hubUrl, name: 'profile', clientId, concurrency: 4 }));
  if (process.env.PROFILE_PAGE === 'contributor') url.pathname = '/';
  const sessions = await Promise.all(
    [0, 1].map(async () => {
      const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
      const page = await context.newPage();
      await page.goto(url.href);
      await page.waitForFunction(() => (globalThis as unknown as PageGlobals).crowdcrawl !== undefined);
      const cdp = await context.newCDPSession(page);
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
      return cdp;
    }),
  );
  await waitForWorkers(hubUrl, 2);
  for (const cdp of sessions) await cdp.send('Profiler.start');
  const started = performance.now();
  const created = await api(hubUrl, '/crawls', docsCrawlSpec(server.url('/')));
  const detail = await waitForEnd(hubUrl, created.id as string);
  const seconds = (performance.now() - started) / 1000;
  const pages = detail.pagesDone as number;
  const totals = new Map<string, number>();
  let busy = 0;
  for (const cdp of sessions) {
    const { profile } = (await cdp.send('Profiler.stop')) as unknown as { profile: Profile };
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    for (const [i, id] of profile.samples.entries()) {
      const cat = category(byId.get(id)!);
      const ms = (profile.timeDeltas[i] ?? 0) / 1000;
      totals.set(cat, (totals.get(cat) ?? 0) + ms);
      if (cat !== 'idle') busy += ms;
    }
  }
  console.log(`${PAGES} pages (${pages} done) in ${seconds.toFixed(1)} s: ${(pages / seconds).toFixed(1)} pages/s; page: ${url.pathname}`);
  console.log(`tabs' main threads busy ${(busy / pages).toFixed(2)} ms per page (both tabs, JS thread samples)`);
  for (const [cat, ms] of [...totals].sort((a, b) => b[1] - a[1])) console.log(`  ${cat.padEnd(56)} ${(ms / pages).toFixed(3)} ms/page`);
} finally {
  await stop(hub);
  await browser.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
