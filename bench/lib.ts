// Shared pieces of the benchmarks: medians, tables, a hub in its own process
// (so its CPU time can be read apart from the workers'), and the raw-fetch
// ceiling every crawl figure is printed beside.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { request } from 'undici';

export const root = new URL('..', import.meta.url).pathname;
export const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function printTable(headers: string[], rows: (string | number)[][]): void {
  const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  for (const [n, row] of cells.entries()) {
    console.log(row.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]!) : String(c).padStart(widths[i]!))).join('  '));
    if (n === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100;
}

export interface SpawnOptions {
  /** Rejects (and kills the child) when the line has not come by then: a bench never waits silently forever. */
  timeoutMs?: number;
  /** Every stdout line, before and after the match (e.g. the swarm's `ACK` lines). */
  onLine?: (line: string) => void;
}

export function spawnUntil(args: string[], pattern: RegExp, env: NodeJS.ProcessEnv = {}, options: SpawnOptions = {}): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...env },
    });
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`${args.join(' ')} printed no ${pattern} within ${timeoutMs} ms`));
    }, timeoutMs);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      options.onLine?.(line);
      const match = line.match(pattern);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited with ${code}`));
    });
  });
}

export function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

export async function api(hubUrl: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${hubUrl}/api${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
}

/**
 * Polls a crawl until it ends; resolves with its summary. Every 200 ms: the
 * poll is an admin request the hub's CPU figures would count (at 50 ms it was
 * 5 % of a profiled crawl's hub time); rates come from the hub's own
 * startedAt/finishedAt, so polling less often does not blur them.
 */
export async function waitForEnd(hubUrl: string, id: string, timeoutMs = 600_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { crawls } = (await api(hubUrl, '/crawls')) as { crawls: Record<string, unknown>[] };
    const detail = crawls.find((c) => c.id === id) ?? {};
    if (detail.status !== 'running' && detail.status !== 'created') return detail;
    if (Date.now() > deadline) throw new Error(`crawl ${id} did not end: ${JSON.stringify(detail)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A finished crawl's pages per second, by the hub's clock (from its start to its last page). */
export function crawlRate(detail: Record<string, unknown>): number {
  return (detail.pagesDone as number) / (((detail.finishedAt as number) - (detail.startedAt as number)) / 1000);
}

/**
 * The crawl both crawl benchmarks time on the docs fixture site: every page's
 * title and headings, every link followed, politeness out of the way (one
 * local host), so the figures measure the crawler, not its manners.
 */
export function docsCrawlSpec(startUrl: string): Record<string, unknown> {
  return {
    name: 'docs',
    startUrls: [startUrl],
    items: [{ selector: 'main', fields: { title: 'h1::text', headings: { selector: 'h2::text', all: true } } }],
    follow: [{}],
    politeness: { obeyRobotsTxt: false, perHostConcurrency: 64, perHostDelayMs: 0 },
  };
}

/** Starts `count` Node workers (`crowdcrawl worker`), one process each, with `concurrency` pages in flight. */
export function spawnNodeWorkers(hubUrl: string, count: number, concurrency: number, token?: string): ChildProcess[] {
  return Array.from({ length: count }, (_, i) =>
    spawn(process.execPath, ['--disable-warning=ExperimentalWarning', ...(process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean), `${root}server/cli/main.ts`, 'worker', '--hub', hubUrl, '--concurrency', String(concurrency), '--name', `bench-${i}`, ...(token ? ['--token', token] : [])], {
      stdio: process.env.BENCH_WORKER_STDERR ? ['ignore', 'inherit', 'inherit'] : 'ignore',
    }),
  );
}

/** Resolves once the hub has `count` workers connected; throws, saying how many it has, after `timeoutMs`. */
export async function waitForWorkers(hubUrl: string, count: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { workers } = (await api(hubUrl, '/workers')) as { workers: unknown[] };
    if (workers.length === count) return;
    if (Date.now() > deadline) throw new Error(`expected ${count} workers connected, the hub has ${workers.length}`);
    await new Promise((r) => setTimeout(r, count > 100 ? 500 : 50));
  }
}

/**
 * Times one crawl on a hub: pages per second and the hub process's CPU (all its
 * threads) per page. A hub runs for days, so it is measured warm: a first crawl
 * of `warmupPages` on the same hub lets V8 compile the hot paths (on background
 * threads that /proc counts) before the measured crawl starts.
 */
export async function timeCrawl(
  hubUrl: string,
  hubPid: number,
  spec: unknown,
  expectedPages: number,
  warmupPages = 300,
): Promise<{ pagesPerSecond: number; hubCpuSecondsPerPage: number }> {
  if (warmupPages > 0) {
    const base = spec as { name: string; limits?: Record<string, unknown> };
    const warmup = await api(hubUrl, '/crawls', { ...base, name: `${base.name}-warmup`, limits: { ...base.limits, maxPages: warmupPages } });
    await waitForEnd(hubUrl, warmup.id as string);
  }
  const cpuBefore = processCpuSeconds(hubPid);
  const created = await api(hubUrl, '/crawls', spec);
  const detail = await waitForEnd(hubUrl, created.id as string);
  const cpu = processCpuSeconds(hubPid) - cpuBefore;
  const pages = detail.pagesDone as number;
  if (pages !== expectedPages) throw new Error(`expected ${expectedPages} pages, got ${pages}: ${JSON.stringify(detail)}`);
  return { pagesPerSecond: crawlRate(detail), hubCpuSecondsPerPage: cpu / pages };
}

/** The ceiling: a plain undici loop fetching the same URLs, `concurrency` at a time. Pages per second. */
export async function rawFetchRate(urls: string[], concurrency = 16): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < urls.length) {
        const url = urls[next++]!;
        const { body } = await request(url);
        await body.text();
      }
    }),
  );
  return urls.length / ((performance.now() - started) / 1000);
}

/** A process's resident set size now (VmRSS from /proc), in MB. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(status.match(/^VmRSS:\s+(\d+) kB/m)?.[1] ?? NaN) / 1024;
}

/** A process's peak resident set size so far (VmHWM from /proc), in MB. */
export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(status.match(/^VmHWM:\s+(\d+) kB/m)?.[1] ?? NaN);
  return kb / 1024;
}
