// Shared pieces of the fault tests: child processes to kill, a seeded random
// source (the seed is printed, so a failure can be replayed with FAULT_SEED),
// and admin API calls.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestHub, startWorkers, waitForCrawlEnd, TEST_ADMIN_TOKEN } from '../../helpers/hub.ts';
import type { Storage } from '../../../server/storage/storage.ts';
import { PostgresStorage } from '../../../server/storage/postgres/postgres-storage.ts';

export const helpers = new URL('../../helpers/', import.meta.url).pathname;

/** Starts a Node child process and resolves with it and the first stdout line matching `pattern`. */
export function spawnUntil(args: string[], pattern: RegExp): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const match = line.match(pattern);
      if (match) resolve({ child, match });
    });
    child.once('exit', (code, signal) => reject(new Error(`${args.join(' ')} exited (${code ?? signal}) before printing ${pattern}`)));
  });
}

/** SIGKILLs a child (if still alive) and resolves once it is gone. */
export function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** mulberry32: a small seeded PRNG, so a random schedule can be replayed. */
export function seededRandom(label: string): { seed: number; next(): number; int(min: number, max: number): number } {
  const seed = Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`# ${label}: FAULT_SEED=${seed}`);
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { seed, next, int: (min, max) => min + Math.floor(next() * (max - min + 1)) };
}

export async function api(hubUrl: string, path: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${hubUrl}/api${path}`, {
    ...init,
    headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A hub in a child process (test/helpers/hub-process.ts) on `databaseUrl`,
 * with `settings` written to its data dir's hub-settings.json (as
 * `crowdcrawl hub --config FILE` would read them). Restart it with the same
 * dir (its hub id is kept there) and port (its workers reconnect to it).
 */
export async function startHubChild(dataDir: string, databaseUrl: string, settings: Record<string, unknown>, port = '0'): Promise<{ child: ChildProcess; url: string }> {
  writeFileSync(join(dataDir, 'hub-settings.json'), JSON.stringify(settings));
  const { child, match } = await spawnUntil([join(helpers, 'hub-process.ts'), dataDir, port, databaseUrl], /^READY (\S+)/);
  return { child, url: match[1]! };
}

/** What a crawl stored: its done URLs and its items (url, type, data), sorted, and how many requests are in another state. */
export interface CrawlOutcome {
  urls: string[];
  items: string[];
  notDone: number;
}

export async function crawlOutcome(storage: Storage, crawlId: string): Promise<CrawlOutcome> {
  const done = await storage.requestsByState(crawlId, 'done', 1_000_000, 0);
  const counts = await storage.countByState(crawlId);
  const items = (await Array.fromAsync(storage.iterateItems(crawlId))).map((i) => `${i.url}\t${i.type}\t${i.data}`);
  return {
    urls: done.map((r) => r.url).sort(),
    items: items.sort(),
    notDone: Object.entries(counts).reduce((n, [state, k]) => (state === 'done' ? n : n + k), 0),
  };
}

/** The outcome of `spec` crawled undisturbed by one in-process hub on the embedded SQLite (the backends give the same result: the storage contract). */
export async function undisturbedOutcome(spec: unknown, workers = 2): Promise<CrawlOutcome> {
  const hub = await startTestHub();
  const running = await startWorkers(hub.url, workers, { concurrency: 3 });
  try {
    const crawl = await hub.engine.createCrawl(spec);
    await waitForCrawlEnd(hub, crawl.id, 180_000);
    return await crawlOutcome(hub.storage, crawl.id);
  } finally {
    await Promise.all(running.map((w) => w.stop()));
    await hub.cleanup();
  }
}

/** The same outcome, read from a PostgreSQL database a child hub wrote (the storage opened on its own, then closed). */
export async function outcomeIn(databaseUrl: string, crawlId: string): Promise<CrawlOutcome> {
  const storage = await PostgresStorage.open(databaseUrl);
  try {
    return await crawlOutcome(storage, crawlId);
  } finally {
    await storage.close();
  }
}
