// Memory on a PostgreSQL-docs-sized crawl (issue 11, item 5): a fresh hub
// (validation on) and one Node worker (`crowdcrawl worker --concurrency 16`)
// crawl a 1,169-page docs fixture site (~30 KB pages, as the PostgreSQL docs'
// 10–60 KB) once. Printed for both processes: peak RSS (VmHWM), and the peaks
// of V8 heap used, heap total, external and arrayBuffers (bench/memory-probe.ts,
// sampled every 50 ms), with their RSS when idle (hub started; worker
// connected) beside them. Same-run references: a bare `node -e` and a raw
// undici loop over the same URLs (16 in flight), each in its own process.
// BENCH_HUB_NODE_ARGS / BENCH_WORKER_NODE_ARGS add node flags (e.g.
// --heapsnapshot-signal=SIGUSR2) to the hub / the worker.
import { spawn } from 'node:child_process';
import module from 'node:module';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { docsSite } from '../test/fixtures/site/docs.ts';
import { startFixtureServer } from '../test/fixtures/site/server.ts';
import { api, docsCrawlSpec, median, peakRssMb, printTable, processCpuSeconds, root, spawnNodeWorkers, spawnUntil, stop, waitForEnd, waitForWorkers } from './lib.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PAGES = Number(process.env.BENCH_PAGES ?? 1169);
const IN_FLIGHT = 16;
const PROBE = ['--import', join(root, 'bench/memory-probe.ts')];
// `crowdcrawl hub` and `crowdcrawl worker` start with Node's compile cache on
// (bin/crowdcrawl.js); the benchmark starts their modules directly, so it hands
// them the cache through the environment, warmed by a first start.
const cacheDir = module.enableCompileCache().directory;
if (cacheDir) process.env.NODE_COMPILE_CACHE = cacheDir;

interface Peaks {
  peakRssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
  arrayBuffersMb: number;
  idleRssMb: number;
  /** Whole-process CPU (all threads, start-up included) per page, ms. */
  cpuMsPerPage: number;
}

const docs = docsSite({ pages: PAGES });
const site = await startFixtureServer(docs);
const spec = { ...docsCrawlSpec(site.url('/')), name: 'memory', politeness: { obeyRobotsTxt: false, perHostConcurrency: IN_FLIGHT, perHostDelayMs: 0 } };

function readProbe(file: string, idleRssMb: number, cpuSeconds: number): Peaks {
  return { ...(JSON.parse(readFileSync(file, 'utf8')) as Omit<Peaks, 'idleRssMb' | 'cpuMsPerPage'>), idleRssMb, cpuMsPerPage: (cpuSeconds * 1000) / PAGES };
}

async function crawlRun(): Promise<{ hub: Peaks; worker: Peaks }> {
  const dir = mkdtempSync(join(tmpdir(), 'crowdcrawl-bench-memory-'));
  const hubArgs = (process.env.BENCH_HUB_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const { child: hub, match } = await spawnUntil([...PROBE, ...hubArgs, join(root, 'bench/hub-process.ts'), dir], /^READY (\S+)/, { MEMORY_PROBE_FILE: join(dir, 'hub.json') });
  const hubUrl = match[1]!;
  let workers: ChildProcess[] = [];
  try {
    // spawnNodeWorkers passes this process's environment and BENCH_WORKER_NODE_ARGS on.
    const saved = { args: process.env.BENCH_WORKER_NODE_ARGS, file: process.env.MEMORY_PROBE_FILE };
    process.env.BENCH_WORKER_NODE_ARGS = [...PROBE, saved.args ?? ''].join(' ');
    process.env.MEMORY_PROBE_FILE = join(dir, 'worker.json');
    workers = spawnNodeWorkers(hubUrl, 1, IN_FLIGHT);
    if (saved.args === undefined) delete process.env.BENCH_WORKER_NODE_ARGS;
    else process.env.BENCH_WORKER_NODE_ARGS = saved.args;
    delete process.env.MEMORY_PROBE_FILE;
    await waitForWorkers(hubUrl, 1);
    const idle = { hub: peakRssMb(hub.pid!), worker: peakRssMb(workers[0]!.pid!) };
    const created = await api(hubUrl, '/crawls', spec);
    const detail = await waitForEnd(hubUrl, created.id as string);
    if (detail.pagesDone !== PAGES) throw new Error(`expected ${PAGES} pages, got ${JSON.stringify(detail)}`);
    const cpu = { hub: processCpuSeconds(hub.pid!), worker: processCpuSeconds(workers[0]!.pid!) };
    await Promise.all(workers.map((w) => stop(w, 'SIGINT')));
    await stop(hub);
    return { hub: readProbe(join(dir, 'hub.json'), idle.hub, cpu.hub), worker: readProbe(join(dir, 'worker.json'), idle.worker, cpu.worker) };
  } finally {
    await Promise.all(workers.map((w) => stop(w, 'SIGINT')));
    await stop(hub);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Peak RSS (MB) of a node process running `script` (an ES module, resolved from the project root). */
function referenceRss(script: string, args: string[] = []): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', `${script}\nconst s = (await import('node:fs')).readFileSync('/proc/self/status', 'utf8'); console.log('HWM', s.match(/^VmHWM:\\s+(\\d+)/m)[1]);`, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) => {
      const kb = out.match(/^HWM (\d+)$/m)?.[1];
      if (code !== 0 || !kb) reject(new Error(`reference exited with ${code}: ${out}`));
      else resolve(Number(kb) / 1024);
    });
  });
}

const RAW_LOOP = `
import { request } from 'undici';
const urls = JSON.parse(process.argv[1]);
let next = 0;
await Promise.all(Array.from({ length: ${IN_FLIGHT} }, async () => {
  while (next < urls.length) { const { body } = await request(urls[next++]); await body.text(); }
}));`;

try {
  const urls = JSON.stringify(docs.paths.map((p) => site.url(p)));
  const runs: { hub: Peaks; worker: Peaks }[] = [];
  const bare: number[] = [];
  const raw: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    bare.push(await referenceRss(''));
    raw.push(await referenceRss(RAW_LOOP, [urls]));
    runs.push(await crawlRun());
  }
  const row = (label: string, pick: (r: { hub: Peaks; worker: Peaks }) => Peaks) => {
    const m = (f: (p: Peaks) => number) => median(runs.map((r) => f(pick(r))));
    return [label, m((p) => p.peakRssMb), m((p) => p.idleRssMb), m((p) => p.heapUsedMb), m((p) => p.heapTotalMb), m((p) => p.externalMb), m((p) => p.arrayBuffersMb), m((p) => p.cpuMsPerPage)];
  };
  const avgKb = docs.totalBytes / PAGES / 1024;
  console.log(`Memory: ${PAGES}-page docs site (${avgKb.toFixed(0)} KB a page on average), fresh hub (validation on), 1 Node worker, ${IN_FLIGHT} in flight; medians of ${RUNS} runs, MB`);
  printTable(['process', 'peak RSS', 'idle RSS', 'heap used', 'heap total', 'external', 'arrayBuffers', 'CPU ms/page'], [
    row('hub', (r) => r.hub),
    row('Node worker', (r) => r.worker),
    ['bare node -e (same run)', median(bare), '', '', '', '', '', ''],
    [`raw undici loop, ${IN_FLIGHT} in flight (same run)`, median(raw), '', '', '', '', '', ''],
  ]);
  console.log('Target: hub and Node worker peak RSS < 150 MB. Heap figures are peaks sampled every 50 ms, not necessarily at the RSS peak; CPU is the whole process, start-up included.');
} finally {
  await site.close();
}
