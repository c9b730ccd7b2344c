// What validation costs honest contributors, and what it does to cheaters
// (issue "Trust no volunteer", docs/trust.md). A hub in its own process,
// Node workers in this one on distinct 127.0.0.x addresses, fixture sites on
// 127.0.0.1:
//   1. honest contributors past probation, a wide crawl, beside the same crawl
//      by operator-token workers (no validation) in the same run: extra
//      extractions per page, the hub's CPU per page, site requests per page;
//   2. a forger among honest workers: results before its ban, forged items in
//      the export, the export against an all-honest crawl;
//   3. a patient cheater at the default settings: how many of its results it
//      takes to catch it, and what is left of its forgeries after.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docsSite } from '../test/fixtures/site/docs.ts';
import { quotesSite } from '../test/fixtures/site/quotes.ts';
import { startFixtureServer } from '../test/fixtures/site/server.ts';
import { seededRandom } from '../test/fixtures/site/random.ts';
import { startNodeWorker, type NodeWorker } from '../server/worker/node-worker.ts';
import { extractHtml } from '../server/extract/cheerio.ts';
import type { ExtractFn } from '../shared/worker/loop.ts';
import { ADMIN_TOKEN, api, docsCrawlSpec, median, printTable, processCpuSeconds, root, spawnUntil, stop, waitForEnd } from './lib.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PAGES = 1000;

const honestExtract: ExtractFn = (html, spec, pageUrl, depth) => extractHtml(html, spec, pageUrl, { depth });
function forged(output: ReturnType<typeof extractHtml>) {
  return { links: output.links, items: output.items.map((i) => ({ ...i, data: Object.fromEntries(Object.entries(i.data).map(([k, v]) => [k, typeof v === 'string' ? `FORGED ${v.slice(0, 10)}` : v])) })) };
}

async function exportLines(hubUrl: string, crawlId: string): Promise<string[]> {
  const response = await fetch(`${hubUrl}/api/crawls/${crawlId}/export?format=jsonl`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  return (await response.text()).split('\n').filter(Boolean);
}

const itemsOf = (lines: string[]) => lines.map((l) => JSON.stringify((JSON.parse(l) as { data?: unknown }).data ?? JSON.parse(l))).sort();

function workers(hubUrl: string, prefix: string, count: number, options: { token?: string; firstAddress?: number } = {}): NodeWorker[] {
  return Array.from({ length: count }, (_, i) =>
    startNodeWorker({
      hubUrl,
      name: `${prefix}-${i + 1}`,
      clientId: `bench-${prefix}-client-${i + 1}`,
      concurrency: 8,
      localAddress: `127.0.0.${(options.firstAddress ?? 2) + i}`,
      ...(options.token ? { token: options.token } : {}),
    }),
  );
}

async function startAll(list: NodeWorker[]): Promise<NodeWorker[]> {
  await Promise.all(list.map((w) => w.ready()));
  return list;
}

const stopAll = (list: NodeWorker[]) => Promise.all(list.map((w) => w.stop()));

interface CrawlFigure {
  pagesPerSecond: number;
  hubCpuMsPerPage: number;
  extraPct: number;
  siteRequestsPerPage: number;
  detail: Record<string, unknown>;
}

const docs = docsSite({ pages: PAGES });
const docsServer = await startFixtureServer(docs);
const quotesServer = await startFixtureServer(quotesSite({ pages: 300 }));
const dir = mkdtempSync(join(tmpdir(), 'crowdcrawl-bench-validation-'));
// BENCH_HUB_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles the hub.
const hubArgs = (process.env.BENCH_HUB_NODE_ARGS ?? '').split(' ').filter(Boolean);
// BENCH_HUB_OPTIONS, e.g. '{"validation":{"bodyRetentionMs":0}}', runs the hub with other settings.
const hubOptions = process.env.BENCH_HUB_OPTIONS ? [process.env.BENCH_HUB_OPTIONS] : [];
const { child: hub, match } = await spawnUntil([...hubArgs, join(root, 'bench/hub-process.ts'), dir, ...hubOptions], /^READY (\S+)/);
const hubUrl = match[1]!;

async function crawl(spec: Record<string, unknown>): Promise<CrawlFigure> {
  const requestsBefore = docsServer.requests + quotesServer.requests;
  const cpuBefore = processCpuSeconds(hub.pid!);
  const started = performance.now();
  const created = await api(hubUrl, '/crawls', spec);
  const detail = await waitForEnd(hubUrl, created.id as string);
  const seconds = (performance.now() - started) / 1000;
  const pages = detail.pagesDone as number;
  const validation = detail.validation as { extraExtractions: number };
  return {
    pagesPerSecond: pages / seconds,
    hubCpuMsPerPage: ((processCpuSeconds(hub.pid!) - cpuBefore) * 1000) / pages,
    extraPct: (validation.extraExtractions / pages) * 100,
    siteRequestsPerPage: (docsServer.requests + quotesServer.requests - requestsBefore) / pages,
    detail,
  };
}

try {
  const token = (await api(hubUrl, '/worker-tokens', { name: 'bench operator' })).token as string;
  const wide = (name: string, extra: Record<string, unknown> = {}) => ({ ...docsCrawlSpec(docsServer.url('/')), name, ...extra });

  // 1. Honest contributors: through probation first (a warm-up crawl), then measured beside operator workers.
  let honest = await startAll(workers(hubUrl, 'honest', 3));
  const probation = await crawl(wide('probation', { limits: { maxPages: 300 } }));
  const validated: CrawlFigure[] = [];
  const reference: CrawlFigure[] = [];
  for (let run = 0; run < RUNS; run++) {
    validated.push(await crawl(wide(`validated-${run}`)));
    await stopAll(honest);
    const operators = await startAll(workers(hubUrl, 'operator', 3, { token }));
    reference.push(await crawl(wide(`reference-${run}`)));
    await stopAll(operators);
    // The same browsers come back: their records stand.
    honest = await startAll(workers(hubUrl, 'honest', 3));
  }
  const row = (label: string, figures: CrawlFigure[]) => [
    label,
    median(figures.map((f) => f.pagesPerSecond)),
    median(figures.map((f) => f.hubCpuMsPerPage)),
    `${median(figures.map((f) => f.extraPct)).toFixed(1)}%`,
    median(figures.map((f) => f.siteRequestsPerPage)),
  ];
  console.log(`1. Honest contributors (3 Node workers, 8 in flight each, distinct addresses), wide ${PAGES}-page docs crawl, medians of ${RUNS} runs`);
  printTable(['workers', 'pages/s', 'hub CPU ms/page', 'extra extractions', 'site requests/page'], [
    ['on probation (first 300 pages)', probation.pagesPerSecond, probation.hubCpuMsPerPage, `${probation.extraPct.toFixed(1)}%`, probation.siteRequestsPerPage],
    row('past probation (validated)', validated),
    row('operator tokens (reference, no checks)', reference),
  ]);
  const cpuRatio = median(validated.map((f) => f.hubCpuMsPerPage)) / median(reference.map((f) => f.hubCpuMsPerPage));
  console.log(`   hub CPU per page, validated / reference: ${cpuRatio.toFixed(2)}× (target ≤ 1.1×); extra extractions past probation target ≤ 10 %`);

  // 2. A forger among the honest (trusted by now) workers, on a 300-page wide quotes crawl.
  const quotesSpec = {
    name: 'quotes',
    startUrls: Array.from({ length: 300 }, (_, i) => quotesServer.url(`/page/${i + 1}/`)),
    items: [{ selector: 'div.quote', fields: { text: 'span.text::text', author: 'span small::text' } }],
    follow: [{ selector: 'li.next a::attr(href)' }],
    politeness: { obeyRobotsTxt: false, perHostConcurrency: 64, perHostDelayMs: 0 },
  };
  await stopAll(honest);
  const operators = await startAll(workers(hubUrl, 'operator', 3, { token }));
  const honestQuotes = await crawl({ ...quotesSpec, name: 'quotes-honest' });
  const honestItems = itemsOf(await exportLines(hubUrl, honestQuotes.detail.id as string));
  await stopAll(operators);
  honest = await startAll(workers(hubUrl, 'honest', 3));
  let forgerResults = 0;
  const forger = startNodeWorker({
    hubUrl, name: 'forger', clientId: 'bench-forger-client-1', concurrency: 8, localAddress: '127.0.0.20',
    extract: (html, spec, url, depth) => {
      forgerResults++;
      return forged(honestExtract(html, spec, url, depth) as ReturnType<typeof extractHtml>);
    },
  });
  await forger.ready();
  const withForger = await crawl({ ...quotesSpec, name: 'quotes-forger' });
  const forgerLines = await exportLines(hubUrl, withForger.detail.id as string);
  const trust = (await api(hubUrl, '/trust')) as { contributors: { value: string; state: string; strikes: number }[] };
  await forger.stop();
  console.log('\n2. A forger (every result forged, 8 in flight) among 3 honest workers, 300-page wide quotes crawl');
  printTable(['figure', 'value'], [
    ['forger results sent before its ban', forgerResults],
    ['forger banned', String(trust.contributors.find((c) => c.value === 'bench-forger-client-1')?.state === 'banned')],
    ['forged items in the export', forgerLines.filter((l) => l.includes('FORGED')).length],
    ['export identical to an all-honest crawl', String(JSON.stringify(itemsOf(forgerLines)) === JSON.stringify(honestItems))],
    ['pages done / items', `${withForger.detail.pagesDone as number} / ${withForger.detail.items as number}`],
  ]);

  // 3. A patient cheater at the default settings: honest through probation, then forging 25 % of its results.
  const flip = seededRandom(2026);
  let sent = 0;
  let forgedSent = 0;
  let caughtAt = 0;
  const patient = startNodeWorker({
    hubUrl, name: 'patient', clientId: 'bench-patient-client-1', concurrency: 8, localAddress: '127.0.0.21',
    extract: (html, spec, url, depth) => {
      const output = honestExtract(html, spec, url, depth) as ReturnType<typeof extractHtml>;
      sent++;
      if (sent <= 10 || flip() >= 0.25) return output;
      forgedSent++;
      return forged(output);
    },
  });
  await patient.ready();
  const crawlIds: string[] = [];
  const isBanned = async () => ((await api(hubUrl, '/bans')) as { bans: { value: string }[] }).bans.some((b) => b.value === 'bench-patient-client-1');
  for (let round = 0; round < 12 && !(await isBanned()); round++) {
    const figure = await crawl(wide(`patient-${round}`));
    crawlIds.push(figure.detail.id as string);
    if (await isBanned()) caughtAt = sent;
  }
  caughtAt ||= sent;
  // The clean-up runs on the hub after the ban: wait for it to take every forged item out.
  let left = -1;
  for (let i = 0; i < 200; i++) {
    left = 0;
    for (const id of crawlIds) left += (await exportLines(hubUrl, id)).filter((l) => l.includes('FORGED')).length;
    if (left === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await patient.stop();
  console.log('\n3. A patient cheater at the default settings (honest for 10 results, then forging 25 %), beside 3 honest workers');
  printTable(['figure', 'value'], [
    ['its results until caught', caughtAt],
    ['of them forged', forgedSent],
    ['banned', String(await isBanned())],
    ['forged items left in the results after clean-up', left],
    ['crawls it took part in', crawlIds.length],
  ]);
  await stopAll(honest);
} finally {
  await stop(hub);
  await docsServer.close();
  await quotesServer.close();
  rmSync(dir, { recursive: true, force: true });
}
