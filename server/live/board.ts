// The live board: who contributes (online or not, pages, items, pages per
// minute), the crawls running with their progress, and the hub's total rate.
//
// A contributor is every worker session with the same clientId and nickname:
// a browser's tabs (they share localStorage, hence the clientId) and its
// reconnects add up to one row, and so do the tabs of one `crowdcrawl workers`
// process. The same browser under another nickname is another row. Rows carry a
// public id (a hash); the clientId, which bans stick to, is never shown.
//
// Work per page is O(1) (counters and a per-second rate ring); once a tick
// (about a second) the board diffs what it would show against what it last
// broadcast and sends only the difference. Only the top `maxRows` rows are
// broadcast (online first, then by all-time pages), and a subscriber's own row
// goes to that subscriber alone, so a thousand contributors cost each page a
// few kilobytes a second at most. All-time totals are written to SQLite every
// tick (only the rows that changed), so they survive a restart; a killed hub
// loses at most the last second of board counts (never crawl results).
import { createHash } from 'node:crypto';
import { WORKER_KINDS, type WorkerKind } from '../../shared/protocol.ts';
import {
  compareContributors,
  type BoardContributor,
  type BoardCrawl,
  type BoardDelta,
  type BoardSnapshot,
  type BoardTotals,
} from '../../shared/board-protocol.ts';
import type { ContributorRow, ContributorStore } from '../storage/contributors.ts';
import type { Engine } from '../engine/engine.ts';
import type { Crawl } from '../crawl/crawl.ts';
import type { WorkerSession } from '../lease/workers.ts';
import { Ticker } from './ticker.ts';
import { RateWindow } from './rate-window.ts';

export interface BoardOptions {
  /** Time between two broadcasts; 0 runs no timer (call tick() yourself). */
  intervalMs?: number;
  /** Rows broadcast to everyone. */
  maxRows?: number;
  /** How long an ended crawl stays on the board. */
  endedCrawlMs?: number;
  now?: () => number;
}

export interface BoardListener {
  delta(delta: BoardDelta): void;
  /** A contributor's own row changed; sent to the pages that identified as it. */
  self(row: BoardContributor): void;
}


interface Contributor {
  row: ContributorRow;
  /** Worker session ids connected now. */
  sessions: Set<string>;
  rate: RateWindow;
}

const ENDED_STATUSES = new Set(['finished', 'cancelled', 'failed']);

export function contributorId(clientId: string, name: string): string {
  return createHash('sha256').update(clientId).update('\0').update(name).digest('base64url').slice(0, 16);
}

function sameRow(a: BoardContributor | undefined, b: BoardContributor): boolean {
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

function sameCrawl(a: BoardCrawl | undefined, b: BoardCrawl): boolean {
  return a !== undefined && (Object.keys(b) as (keyof BoardCrawl)[]).every((k) => a[k] === b[k]);
}

function sameTotals(a: BoardTotals | undefined, b: BoardTotals): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

export class Board {
  readonly maxRows: number;
  private readonly core: Engine;
  private readonly store: ContributorStore;
  private readonly now: () => number;
  private readonly endedCrawlMs: number;
  /** Online contributors, the ones on the board, and the ones with unsaved totals; the rest live in SQLite only. */
  private readonly contributors = new Map<string, Contributor>();
  private readonly bySession = new Map<string, Contributor>();
  private readonly unsaved = new Set<Contributor>();
  private readonly hubRate = new RateWindow(60);
  private readonly allTime: { pages: number; items: number; known: number };
  /** What was last broadcast: a new subscriber's snapshot, and what the next delta is diffed against. */
  private sentRows = new Map<string, BoardContributor>();
  private sentCrawls = new Map<string, BoardCrawl>();
  private sentTotals: BoardTotals | undefined;
  private readonly sentSelf = new Map<string, BoardContributor>();
  private seq = 0;
  private reloadTop = false;
  private lastTickAt = 0;
  private readonly ticker: Ticker<BoardListener>;
  private readonly detach: () => void;

  constructor(core: Engine, store: ContributorStore, options: BoardOptions = {}) {
    this.core = core;
    this.store = store;
    this.now = options.now ?? Date.now;
    this.maxRows = options.maxRows ?? 100;
    this.endedCrawlMs = options.endedCrawlMs ?? 10 * 60_000;
    this.allTime = { ...store.totals(), known: store.count() };
    for (const row of store.top(this.maxRows)) {
      this.contributors.set(row.id, { row, sessions: new Set(), rate: new RateWindow(60) });
    }
    for (const worker of core.workers.all()) this.joined(worker);

    const onJoined = (worker: WorkerSession) => this.joined(worker);
    const onLeft = (worker: WorkerSession) => this.left(worker);
    const onPage = (worker: WorkerSession | undefined, _crawl: Crawl, items: number) => this.page(worker, items);
    core.on('workerJoined', onJoined);
    core.on('workerLeft', onLeft);
    core.on('page', onPage);
    this.detach = () => {
      core.off('workerJoined', onJoined);
      core.off('workerLeft', onLeft);
      core.off('page', onPage);
    };
    this.ticker = new Ticker(() => this.tick(), {
      intervalMs: options.intervalMs,
      onUnwatched: (id) => this.sentSelf.delete(id),
    });
    this.tick();
  }

  subscribe(listener: BoardListener): () => void {
    return this.ticker.subscribe(listener);
  }

  /** The state as of the last broadcast; deltas with seq + 1 onwards follow it. */
  snapshot(): BoardSnapshot {
    return {
      seq: this.seq,
      at: this.lastTickAt,
      rows: [...this.sentRows.values()],
      maxRows: this.maxRows,
      crawls: [...this.sentCrawls.values()],
      totals: this.sentTotals!,
    };
  }

  /** A page says which contributor it is; its own row then comes with `self` events. Returns the row's id and current state. */
  identify(clientId: string, name: string): { id: string; self: BoardContributor | null } {
    const id = contributorId(clientId, name);
    const known = this.contributors.get(id);
    if (known) return { id, self: this.view(known, this.now()) };
    const row = this.store.get(id);
    return { id, self: row ? this.view({ row, sessions: new Set(), rate: new RateWindow(1) }, this.now()) : null };
  }

  watch(id: string): () => void {
    return this.ticker.watch(id);
  }

  /** One round: persist changed totals, broadcast what changed since the last round. */
  tick(): void {
    const now = this.now();
    this.lastTickAt = now;
    this.save();
    if (this.reloadTop) {
      this.reloadTop = false;
      for (const row of this.store.top(this.maxRows)) {
        if (!this.contributors.has(row.id)) this.contributors.set(row.id, { row, sessions: new Set(), rate: new RateWindow(60) });
      }
    }

    const views = new Map<string, BoardContributor>();
    for (const c of this.contributors.values()) views.set(c.row.id, this.view(c, now));
    const top = [...views.values()].sort(compareContributors).slice(0, this.maxRows);

    const rows: BoardContributor[] = [];
    const nextRows = new Map<string, BoardContributor>();
    for (const row of top) {
      nextRows.set(row.id, row);
      if (!sameRow(this.sentRows.get(row.id), row)) rows.push(row);
    }
    const removed = [...this.sentRows.keys()].filter((id) => !nextRows.has(id));
    this.sentRows = nextRows;

    const crawls: BoardCrawl[] = [];
    const nextCrawls = new Map<string, BoardCrawl>();
    for (const crawl of this.core.crawls.list()) {
      const ended = ENDED_STATUSES.has(crawl.status);
      if (ended && (crawl.finishedAt === null || now - crawl.finishedAt > this.endedCrawlMs)) continue;
      const view = crawlView(crawl);
      nextCrawls.set(view.id, view);
      if (!sameCrawl(this.sentCrawls.get(view.id), view)) crawls.push(view);
      if (nextCrawls.size >= 20) break;
    }
    const crawlsRemoved = [...this.sentCrawls.keys()].filter((id) => !nextCrawls.has(id));
    this.sentCrawls = nextCrawls;

    const totals = this.totals(now);
    const totalsChanged = !sameTotals(this.sentTotals, totals);
    this.sentTotals = totals;

    if (rows.length > 0 || removed.length > 0 || crawls.length > 0 || crawlsRemoved.length > 0 || totalsChanged) {
      this.seq++;
      const delta: BoardDelta = {
        seq: this.seq,
        at: now,
        ...(rows.length > 0 ? { rows } : {}),
        ...(removed.length > 0 ? { removed } : {}),
        ...(crawls.length > 0 ? { crawls } : {}),
        ...(crawlsRemoved.length > 0 ? { crawlsRemoved } : {}),
        ...(totalsChanged ? { totals } : {}),
      };
      this.ticker.broadcast((listener) => listener.delta(delta));
    }

    for (const id of this.ticker.watched()) {
      const row = views.get(id);
      if (!row || sameRow(this.sentSelf.get(id), row)) continue;
      this.sentSelf.set(id, row);
      this.ticker.broadcast((listener) => listener.self(row));
    }
    this.evict();
  }

  /** Stops the timer and writes the last totals. */
  close(): void {
    this.ticker.close();
    this.detach();
    this.save();
  }

  private joined(worker: WorkerSession): void {
    const now = this.now();
    const c = this.load(worker.clientId, worker.name, worker.kind, now);
    c.sessions.add(worker.id);
    c.row.kind = worker.kind;
    c.row.last_seen_at = now;
    this.bySession.set(worker.id, c);
  }

  private left(worker: WorkerSession): void {
    const c = this.bySession.get(worker.id);
    if (!c) return;
    this.bySession.delete(worker.id);
    c.sessions.delete(worker.id);
    c.row.last_seen_at = this.now();
    if (c.row.pages > 0) this.unsaved.add(c);
    // With fewer online, offline contributors that were evicted may belong on the board again.
    this.reloadTop = true;
  }

  private page(worker: WorkerSession | undefined, items: number): void {
    const now = this.now();
    this.hubRate.add(now);
    // A worker gone before its result was committed has no session any more: the page counts in the hub's rate only.
    const c = worker ? this.bySession.get(worker.id) : undefined;
    if (!c) return;
    if (c.row.pages === 0) this.allTime.known++;
    this.allTime.pages++;
    this.allTime.items += items;
    c.row.pages++;
    c.row.items += items;
    c.row.last_seen_at = now;
    c.rate.add(now);
    this.unsaved.add(c);
  }

  private load(clientId: string, name: string, kind: WorkerKind, now: number): Contributor {
    const id = contributorId(clientId, name);
    let c = this.contributors.get(id);
    if (!c) {
      const row = this.store.get(id) ?? { id, client_id: clientId, name, kind, pages: 0, items: 0, first_seen_at: now, last_seen_at: now };
      c = { row, sessions: new Set(), rate: new RateWindow(60) };
      this.contributors.set(id, c);
    }
    return c;
  }

  private save(): void {
    if (this.unsaved.size === 0) return;
    const rows = [...this.unsaved].map((c) => c.row);
    this.unsaved.clear();
    try {
      this.store.save(rows);
    } catch (error) {
      // Board totals are statistics: keep them in memory and try again next round.
      for (const row of rows) {
        const c = this.contributors.get(row.id);
        if (c) this.unsaved.add(c);
      }
      this.core.log.error({ err: error }, 'board: could not save contributor totals');
    }
  }

  /** Forgets offline contributors that are saved, off the board and watched by no one (SQLite has them). */
  private evict(): void {
    if (this.contributors.size <= this.maxRows) return;
    for (const [id, c] of this.contributors) {
      if (c.sessions.size === 0 && !this.sentRows.has(id) && !this.unsaved.has(c) && !this.ticker.isWatched(id)) this.contributors.delete(id);
    }
  }

  private view(c: Contributor, now: number): BoardContributor {
    return {
      id: c.row.id,
      name: c.row.name,
      kind: c.row.kind,
      online: c.sessions.size > 0,
      sessions: c.sessions.size,
      pages: c.row.pages,
      items: c.row.items,
      pagesPerMinute: c.rate.sum(now, 60),
      lastSeenAt: c.row.last_seen_at,
    };
  }

  private totals(now: number): BoardTotals {
    const sessionsByKind = Object.fromEntries(WORKER_KINDS.map((k) => [k, 0])) as Record<WorkerKind, number>;
    let sessionsOnline = 0;
    for (const worker of this.core.workers.all()) {
      sessionsByKind[worker.kind]++;
      sessionsOnline++;
    }
    let contributorsOnline = 0;
    for (const c of this.contributors.values()) if (c.sessions.size > 0) contributorsOnline++;
    return {
      contributorsOnline,
      sessionsOnline,
      sessionsByKind,
      contributorsKnown: this.allTime.known,
      pagesPerMinute: this.hubRate.sum(now, 60),
      pagesPerSecond: Math.round((this.hubRate.sum(now, 10) / 10) * 10) / 10,
      pages: this.allTime.pages,
      items: this.allTime.items,
    };
  }
}

function crawlView(crawl: Crawl): BoardCrawl {
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
