// What the admin API answers with: plain JSON views of crawls, pages, items,
// workers and hub totals, built from the core's state and the store. Their
// types are in shared/admin-api.ts, which the console and the CLI read too.
import { RequestState } from '../../storage/db.ts';
import type { RequestRow, StoredItem, CrawlStatus } from '../../storage/store.ts';
import { WORKER_KINDS, type WorkerKind } from '../../../shared/protocol.ts';
import type { CrawlDetail, HubStats, ItemView, PageView, WorkerView } from '../../../shared/admin-api.ts';
import type { Crawl } from '../../crawl/crawls.ts';
import type { HubCore } from '../../engine/engine.ts';
import type { WorkerSession } from '../../lease/workers.ts';

export const PAGE_STATES = { done: RequestState.DONE, failed: RequestState.FAILED, skipped: RequestState.SKIPPED } as const;
export type PageStateName = keyof typeof PAGE_STATES;

export function crawlDetail(core: HubCore, crawl: Crawl): CrawlDetail {
  const byState = core.store.countByState(crawl.id);
  return {
    ...crawl.summary(),
    spec: crawl.spec,
    counts: {
      queued: byState[RequestState.QUEUED] ?? 0,
      done: byState[RequestState.DONE] ?? 0,
      failed: byState[RequestState.FAILED] ?? 0,
      skipped: byState[RequestState.SKIPPED] ?? 0,
    },
    errors: core.store.errorSummary(crawl.id).map((e) => ({ code: e.code, host: e.host, count: e.n, exampleUrl: e.example })),
  };
}

export function pageView(row: RequestRow): PageView {
  return {
    url: row.url,
    host: row.host,
    depth: row.depth,
    attempts: row.attempts,
    finalUrl: row.final_url,
    httpStatus: row.http_status,
    items: row.items,
    links: row.links,
    worker: row.worker,
    specVersion: row.spec_version,
    errorCode: row.error_code,
    errorMessage: row.error_message,
    doneAt: row.done_at,
  };
}

export function itemView(item: StoredItem): ItemView {
  return {
    id: item.id,
    url: item.url,
    type: item.type,
    data: JSON.parse(item.data) as ItemView['data'],
    specVersion: item.spec_version,
    extractedAt: item.created_at,
  };
}

/** A connected worker as the operator sees it: what GET /workers and the /admin feed both show. */
export function workerBasics(core: HubCore, w: WorkerSession): Omit<WorkerView, 'pagesLastMinute'> {
  return {
    id: w.id,
    name: w.name,
    kind: w.kind,
    clientId: w.clientId,
    address: w.address,
    connectedAt: w.connectedAt,
    capacity: w.capacity,
    leasesHeld: core.leases.countHeldBy(w.id),
    pagesDone: w.pagesDone,
    items: w.items,
    failures: w.failures,
  };
}

/** Pages the worker completed in the 60 seconds before `now`. */
export function pagesInLastMinute(w: WorkerSession, now: number): number {
  return w.recent.filter((t) => now - t < 60_000).length;
}

export function workerViews(core: HubCore, now = Date.now()): WorkerView[] {
  const out: WorkerView[] = [];
  for (const w of core.workers.all()) out.push({ ...workerBasics(core, w), pagesLastMinute: pagesInLastMinute(w, now) });
  return out.sort((a, b) => a.connectedAt - b.connectedAt);
}

export function hubStats(core: HubCore): HubStats {
  const byStatus: Record<CrawlStatus, number> = { created: 0, running: 0, paused: 0, finished: 0, cancelled: 0, failed: 0 };
  let pagesDone = 0;
  let pagesFailed = 0;
  let pagesSkipped = 0;
  let items = 0;
  const crawls = core.crawls.list();
  for (const crawl of crawls) {
    byStatus[crawl.status]++;
    pagesDone += crawl.pagesDone;
    pagesFailed += crawl.pagesFailed;
    pagesSkipped += crawl.pagesSkipped;
    items += crawl.items;
  }
  const byKind = Object.fromEntries(WORKER_KINDS.map((kind) => [kind, 0])) as Record<WorkerKind, number>;
  for (const worker of core.workers.all()) byKind[worker.kind]++;
  return {
    crawls: { total: crawls.length, byStatus },
    workers: { connected: core.workers.size, byKind },
    leasesInFlight: core.leases.size,
    pagesDone,
    pagesFailed,
    pagesSkipped,
    items,
  };
}
