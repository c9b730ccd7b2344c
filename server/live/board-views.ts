// The board's rows as broadcast: a crawl's view, the hub's totals, and whether a row, a crawl or
// the totals changed since the last broadcast (server/live/board.ts sends only those).
import { WORKER_KINDS, type WorkerKind } from '../../shared/protocol.ts';
import type { BoardContributor, BoardCrawl, BoardTotals } from '../../shared/board-protocol.ts';
import type { ContributorTotals } from '../storage/storage.ts';
import type { Crawl } from '../crawl/crawl.ts';
import type { WorkerSession } from '../lease/workers.ts';
import type { RateWindow } from './rate-window.ts';
import type { RemoteRow } from './board-fleet.ts';

/** What to broadcast: the entries of `next` that changed since `sent`, and the ids gone from it. */
export function diffById<T extends { id: string }>(
  sent: ReadonlyMap<string, T>,
  next: Iterable<T>,
  same: (a: T | undefined, b: T) => boolean,
): { next: Map<string, T>; changed: T[]; removed: string[] } {
  const out = new Map<string, T>();
  const changed: T[] = [];
  for (const entry of next) {
    out.set(entry.id, entry);
    if (!same(sent.get(entry.id), entry)) changed.push(entry);
  }
  return { next: out, changed, removed: [...sent.keys()].filter((id) => !out.has(id)) };
}

/**
 * The rows this hub shows: its contributors (listed ones, and any another hub
 * has online) with what other hubs count of them, and the other hubs' own.
 */
export function withFleet(
  here: readonly { view: BoardContributor; listed: boolean }[],
  remote: ReadonlyMap<string, RemoteRow>,
): { views: Map<string, BoardContributor>; listed: BoardContributor[] } {
  const views = new Map<string, BoardContributor>();
  const listed: BoardContributor[] = [];
  for (const { view, listed: isListed } of here) {
    const there = remote.get(view.id);
    const shown = there ? withRemote(view, there) : view;
    views.set(view.id, shown);
    if (isListed || there) listed.push(shown);
  }
  for (const there of remote.values()) {
    if (views.has(there.id)) continue;
    const shown = withRemote(undefined, there);
    views.set(there.id, shown);
    listed.push(shown);
  }
  return { views, listed };
}

const ENDED_STATUSES = new Set(['finished', 'cancelled', 'failed']);
const MAX_CRAWLS_SHOWN = 20;

/** The crawls on the board: all but those that ended more than `endedCrawlMs` ago, at most 20. */
export function boardCrawls(crawls: Iterable<Crawl>, now: number, endedCrawlMs: number): BoardCrawl[] {
  const shown: BoardCrawl[] = [];
  for (const crawl of crawls) {
    const ended = ENDED_STATUSES.has(crawl.status);
    if (ended && (crawl.finishedAt === null || now - crawl.finishedAt > endedCrawlMs)) continue;
    shown.push(crawlView(crawl));
    if (shown.length >= MAX_CRAWLS_SHOWN) break;
  }
  return shown;
}

/** A contributor's row with what other hubs count of it (its sessions and rate there; the larger totals). */
export function withRemote(local: BoardContributor | undefined, remote: RemoteRow): BoardContributor {
  const sessions = (local?.sessions ?? 0) + remote.sessions;
  return {
    id: remote.id,
    name: local?.name ?? remote.name,
    kind: local?.online ? local.kind : remote.kind,
    online: sessions > 0,
    sessions,
    pages: Math.max(local?.pages ?? 0, remote.pages),
    items: Math.max(local?.items ?? 0, remote.items),
    pagesPerMinute: (local?.pagesPerMinute ?? 0) + remote.pagesPerMinute,
    lastSeenAt: Math.max(local?.lastSeenAt ?? 0, remote.lastSeenAt),
  };
}

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
