// Test helpers: a real hub on port 0 with its own data dir, Node workers, and
// waiting for a crawl to end.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub, type Hub } from '../../server/app.ts';
import type { Clock } from '../../server/clock.ts';
import type { HubOptions } from '../../server/options.ts';
import type { SqliteStorage } from '../../server/storage/sqlite/sqlite-storage.ts';
import type { Storage } from '../../server/storage/storage.ts';
import { startNodeWorker, type NodeWorker, type NodeWorkerOptions } from '../../server/worker/node-worker.ts';
import type { CrawlSummary } from '../../shared/admin-api.ts';

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export function tempDir(prefix = 'crowdcrawl-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export type TestHub<S extends Storage = SqliteStorage> = Hub & { storage: S; dataDir: string; cleanup(): Promise<void> };
type Wiring = { clock?: Clock; random?: () => number };

/**
 * A hub on port 0 with its own data dir; `clock` puts its core on fake time (test/helpers/fake-clock.ts).
 * Its storage is the data dir's SQLite (tests may read the file), or PostgreSQL when given a databaseUrl.
 */
export async function startTestHub(options: HubOptions & { databaseUrl: string }, wiring?: Wiring): Promise<TestHub<Storage>>;
export async function startTestHub(options?: HubOptions, wiring?: Wiring): Promise<TestHub<SqliteStorage>>;
export async function startTestHub(options: HubOptions = {}, wiring: Wiring = {}): Promise<TestHub<Storage>> {
  const dir = options.dataDir ? undefined : tempDir();
  const hub = await startHub({
    port: 0,
    allowHosts: ['127.0.0.1'],
    adminToken: TEST_ADMIN_TOKEN,
    log: () => {},
    ...options,
    dataDir: options.dataDir ?? dir!.path,
  }, wiring);
  return Object.assign(hub, {
    dataDir: options.dataDir ?? dir!.path,
    async cleanup() {
      await hub.close();
      dir?.remove();
    },
  });
}

export async function startWorkers(hubUrl: string, count: number, options: Partial<NodeWorkerOptions> = {}): Promise<NodeWorker[]> {
  const workers = Array.from({ length: count }, (_, i) => startNodeWorker({ hubUrl, name: `worker-${i + 1}`, concurrency: 4, ...options }));
  await Promise.all(workers.map((w) => w.ready()));
  return workers;
}

/** Resolves with the crawl's summary once it is no longer running (or rejects after timeoutMs). */
export function waitForCrawlEnd(hub: Hub, crawlId: string, timeoutMs = 60_000): Promise<CrawlSummary> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const crawl = hub.engine.crawls.get(crawlId);
      if (crawl && (crawl.status === 'finished' || crawl.status === 'cancelled' || crawl.status === 'failed')) {
        clearInterval(timer);
        clearTimeout(deadline);
        // Its status is in storage too before the test looks there.
        void hub.engine.crawls.settled(crawl).then(() => resolve(crawl.summary()));
      }
    };
    const timer = setInterval(check, 20);
    const deadline = setTimeout(() => {
      clearInterval(timer);
      const crawl = hub.engine.crawls.get(crawlId);
      reject(new Error(`crawl ${crawlId} did not end within ${timeoutMs} ms: ${JSON.stringify(crawl?.summary())}`));
    }, timeoutMs);
    check();
  });
}

export const quotesSpec = (origin: string, extra: Record<string, unknown> = {}) => ({
  name: 'quotes',
  startUrls: [`${origin}/page/1/`],
  items: [{ selector: 'div.quote', fields: { text: 'span.text::text', author: 'span small::text' } }],
  follow: [{ selector: 'li.next a::attr(href)' }],
  politeness: { obeyRobotsTxt: false, perHostConcurrency: 16, perHostDelayMs: 0 },
  ...extra,
});

/**
 * A worker token from the hub's operator: a worker connecting with it is
 * believed without checks (docs/trust.md). For tests whose worker sends made-up
 * results on purpose, to test something other than validation.
 */
export async function operatorToken(hub: Hub): Promise<string> {
  return (await hub.engine.trust.issueToken('test')).token;
}
