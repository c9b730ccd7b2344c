// Where a headless edge tab's CPU goes: runs 2 edge tabs (`crowdcrawl workers`'
// page) on the docs fixture site with Chromium's CPU profiler on in each
// (DevTools protocol: Profiler.start/stop through a CDP session), then prints
// the tabs' self time per category and per page. Not part of `npm run bench`
// (its name has no .bench): `node bench/tabs-profile.ts [pages]`.
// PROFILE_MODE=trace records a Chromium trace of the renderers' main threads
// instead and prints self time per trace event (what '(program)' is made of);
// PROFILE_TRACE_FILE=path keeps the trace (chrome://tracing, Perfetto).
// PROFILE_MODE=none runs the crawl without either, for /proc figures
// (python3 threads.py beside it) that no profiler inflates.
// PROFILE_PAGE=contributor profiles the contributor page's headless mode instead (the page edge tabs opened before edge.html).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { docsSite } from '../test/fixtures/site/docs.ts';
import { startFixtureServer } from '../test/fixtures/site/server.ts';
import { launchChromium } from '../server/browser/chromium.ts';
import { ensureClientBuilt } from '../server/cli/client-build.ts';
import { edgeTabUrl, type PageGlobals } from '../server/worker/edge-tabs.ts';
import { emptySummary, formatSummary, formatTrace, summarizeProfile, summarizeTrace, type Profile } from './cdp-profile.ts';
import { docsCrawlSpec, api, root, spawnUntil, stop, waitForEnd, waitForWorkers } from './lib.ts';

const PAGES = Number(process.argv[2] ?? 1000);
/** 'cpu' (default): the DevTools CPU profiler in each tab; 'trace': a Chromium trace of the renderers' main threads instead. */
const MODE = process.env.PROFILE_MODE === 'trace' ? 'trace' : process.env.PROFILE_MODE === 'none' ? 'none' : 'cpu';
const TRACE_CATEGORIES = ['toplevel', 'devtools.timeline', 'blink', 'v8', 'loading', 'disabled-by-default-devtools.timeline'];

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
  const pages = await Promise.all(
    [0, 1].map(async () => {
      const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
      const page = await context.newPage();
      await page.goto(url.href);
      await page.waitForFunction(() => (globalThis as unknown as PageGlobals).crowdcrawl !== undefined);
      const cdp = await context.newCDPSession(page);
      if (MODE === 'cpu') {
        await cdp.send('Profiler.enable');
        await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
      }
      return { page, cdp };
    }),
  );
  await waitForWorkers(hubUrl, 2);
  // One trace covers the whole browser (every renderer); it is read per thread.
  if (MODE === 'trace') await browser.startTracing(pages[0]!.page, { categories: TRACE_CATEGORIES });
  else if (MODE === 'cpu') for (const { cdp } of pages) await cdp.send('Profiler.start');
  const started = performance.now();
  const created = await api(hubUrl, '/crawls', docsCrawlSpec(server.url('/')));
  const detail = await waitForEnd(hubUrl, created.id as string);
  const seconds = (performance.now() - started) / 1000;
  const done = detail.pagesDone as number;
  console.log(`${PAGES} pages (${done} done) in ${seconds.toFixed(1)} s: ${(done / seconds).toFixed(1)} pages/s; page: ${url.pathname}`);
  if (MODE === 'trace') {
    const buffer = await browser.stopTracing();
    if (process.env.PROFILE_TRACE_FILE) writeFileSync(process.env.PROFILE_TRACE_FILE, buffer);
    const trace = JSON.parse(buffer.toString('utf8')) as Parameters<typeof summarizeTrace>[0];
    const top = Number(process.env.PROFILE_TOP ?? 30);
    console.log(formatTrace(summarizeTrace(trace), done, top).join('\n'));
    console.log(formatTrace(summarizeTrace(trace, 'ThreadPoolForegroundWorker'), done, 10).join('\n').replace('renderer main thread', 'thread pool (every process)'));
  } else if (MODE === 'cpu') {
    const summary = emptySummary();
    for (const { cdp } of pages) summarizeProfile(((await cdp.send('Profiler.stop')) as unknown as { profile: Profile }).profile, summary);
    console.log(formatSummary(summary, done, { top: 20 }).join('\n'));
    console.log(formatSummary(summary, done, { top: 20, topCategory: 'extraction (script)' }).slice(-21).join('\n'));
  }
} finally {
  await stop(hub);
  await browser.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
