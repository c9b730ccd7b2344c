// The board's rows as broadcast: a crawl's view, the hub's totals, and whether a row, a crawl or
// the totals changed since the last broadcast (server/live/board.ts sends only those).
import { WORKER_KINDS, type WorkerKind } from '../../shared/protocol.ts';
import type { BoardContributor, BoardCrawl, BoardTotals } from '../../shared/board-protocol.ts';
import type { ContributorTotals } from '../storage/storage.ts';
import type { Crawl } from '../crawl/crawl.ts';
import type { WorkerSession } from '../lease/workers.ts';
import type { RateWindow } from './rate-window.ts';

export function sameRow(a: BoardContributor | undefined, b: BoardContributor): boolean {
  return (
    a !== undefined &&
    a.name === b.name &&
    a.kind === b.kind &&
    a.online === b.online &&
    a.sessions === b.sessions &&
    a.pages === b.pages &&
    a.items === b.items &&
    a.pagesPerMinute === b.pagesPerMinute
  );
}

export function sameCrawl(a: BoardCrawl | undefined, b: BoardCrawl): boolean {
  return a !== undefined && (Object.keys(b) as (keyof BoardCrawl)[]).every((k) => a[k] === b[k]);
}

export function sameTotals(a: BoardTotals | undefined, b: BoardTotals): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

export function crawlView(crawl: Crawl): BoardCrawl {
  return {
    id: crawl.id,
    name: crawl.name,
    status: crawl.status,
    pagesDone: crawl.pagesDone,
    pagesFailed: crawl.pagesFailed,
    queued: crawl.frontier.queued,
    inFlight: crawl.frontier.inFlight,
    items: crawl.items,
    maxPages: crawl.spec.limits.maxPages ?? null,
    createdAt: crawl.createdAt,
    finishedAt: crawl.finishedAt,
  };
}

/** The hub's totals: every session online counts, listed on the board or not (idle sockets too). */
export function boardTotals(
  sessions: Iterable<WorkerSession>,
  contributorsOnline: number,
  allTime: ContributorTotals,
  hubRate: RateWindow,
  now: number,
): BoardTotals {
  const sessionsByKind = Object.fromEntries(WORKER_KINDS.map((k) => [k, 0])) as Record<WorkerKind, number>;
  let sessionsOnline = 0;
  for (const worker of sessions) {
    sessionsByKind[worker.kind]++;
    sessionsOnline++;
  }
  return {
    contributorsOnline,
    sessionsOnline,
    sessionsByKind,
    contributorsKnown: allTime.known,
    pagesPerMinute: hubRate.sum(now, 60),
    pagesPerSecond: Math.round((hubRate.sum(now, 10) / 10) * 10) / 10,
    pages: allTime.pages,
    items: allTime.items,
  };
}
