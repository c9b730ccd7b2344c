// What the admin API answers with: plain JSON views of crawls, pages, items,
// workers and hub totals, built from the engine's state and storage. Their
// types are in shared/admin-api.ts, which the console and the CLI read too.
import type { RequestRow, StoredItem, CrawlStatus } from '../../storage/storage.ts';
import { WORKER_KINDS, type WorkerKind } from '../../../shared/protocol.ts';
import type { CrawlDetail, HubStats, ItemView, PageView, WorkerView } from '../../../shared/admin-api.ts';
import type { Crawl } from '../../crawl/crawl.ts';
import type { Engine } from '../../engine/engine.ts';
import { pagesInLastMinute, workerBasics } from '../../engine/worker-view.ts';

export const PAGE_STATES = { done: 'done', failed: 'failed', skipped: 'skipped' } as const;
export type PageStateName = keyof typeof PAGE_STATES;

export async function crawlDetail(engine: Engine, crawl: Crawl): Promise<CrawlDetail> {
  return {
    ...crawl.summary(),
    spec: crawl.spec,
    counts: await engine.storage.countByState(crawl.id),
    errors: await engine.storage.errorSummary(crawl.id),
  };
}

export function pageView(row: RequestRow): PageView {
  return {
    url: row.url,
    host: row.host,
    depth: row.depth,
    attempts: row.attempts,
    finalUrl: row.finalUrl,
    httpStatus: row.httpStatus,
    items: row.items,
    links: row.links,
    worker: row.worker,
    specVersion: row.specVersion,
    errorCode: row.errorCode,
    errorMessage: row.errorMessage,
    doneAt: row.doneAt,
  };
}

export function itemView(item: StoredItem): ItemView {
  return {
    id: item.id,
    url: item.url,
    type: item.type,
    data: JSON.parse(item.data) as ItemView['data'],
    specVersion: item.specVersion,
    extractedAt: item.createdAt,
  };
}

export function workerViews(engine: Engine, now = engine.clock.now()): WorkerView[] {
  const out: WorkerView[] = [];
  for (const w of engine.workers.all()) out.push({ ...workerBasics(engine, w), pagesLastMinute: pagesInLastMinute(w, now) });
  return out.sort((a, b) => a.connectedAt - b.connectedAt);
}

export function hubStats(engine: Engine): HubStats {
  const byStatus: Record<CrawlStatus, number> = { created: 0, running: 0, paused: 0, finished: 0, cancelled: 0, failed: 0 };
  let pagesDone = 0;
  let pagesFailed = 0;
  let pagesSkipped = 0;
  let items = 0;
  const crawls = engine.crawls.list();
  for (const crawl of crawls) {
    byStatus[crawl.status]++;
    pagesDone += crawl.pagesDone;
    pagesFailed += crawl.pagesFailed;
    pagesSkipped += crawl.pagesSkipped;
    items += crawl.items;
  }
  const byKind = Object.fromEntries(WORKER_KINDS.map((kind) => [kind, 0])) as Record<WorkerKind, number>;
  for (const worker of engine.workers.all()) byKind[worker.kind]++;
  return {
    crawls: { total: crawls.length, byStatus },
    workers: { connected: engine.workers.size, byKind },
    leasesInFlight: engine.leasesInFlight,
    pagesDone,
    pagesFailed,
    pagesSkipped,
    items,
  };
}
