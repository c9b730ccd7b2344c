// The live board: who contributes (online or not, pages, items, pages per
// minute), the crawls running with their progress, and the hub's total rate.
//
// A contributor is every worker session with the same clientId and nickname:
// a browser's tabs (they share localStorage, hence the clientId) and its
// reconnects add up to one row, and so do the tabs of one `crowdcrawl workers`
// process. The same browser under another nickname is another row. Rows carry a
// public id (a hash); the clientId, which bans stick to, is never shown.
// Work per page is O(1) (counters and a per-second rate ring); once a tick
// (about a second) the board diffs what it would show against what it last
// broadcast and sends only the difference; a page's crawl progress and the
// totals go out sooner, within `promptMs` (a light delta: O(crawls), at most
// once per promptMs, so what it costs is bounded). Only the top `maxRows` rows are
// broadcast (by all-time validated pages), and a subscriber's own row
// goes to that subscriber alone, so a thousand contributors cost each page a
// few kilobytes a second at most. All-time totals are added to storage every
// tick (the increments since the last write, one write at a time), so they
// survive a restart and the hubs of a fleet add up; a killed hub loses at most
// the last second of board counts (never crawl results). Storage answers
// asynchronously: a contributor who joins counts at once from zero, and its
// stored totals are added once read. With other hubs on the database the board
// merges theirs (board-fleet.ts): it shows everyone contributing to the fleet.
// Listed are rows with a validated page (the engine's `page` event: recorded
// results only, never one waiting for its check) or holding leases now; idle
// sockets count in the totals only, so a crowd of them pushes no one off.
// Rows are named as server/live/names.ts decides (unique by skeleton).
import {
  compareContributors,
  type BoardContributor,
  type BoardCrawl,
  type BoardDelta,
  type BoardSnapshot,
  type BoardTotals,
} from '../../shared/board-protocol.ts';
import type { ContributorRow, ContributorTotals, Storage } from '../storage/storage.ts';
import type { FleetBus } from '../storage/fleet-bus.ts';
import type { Engine } from '../engine/engine.ts';
import type { Crawl } from '../crawl/crawl.ts';
import type { WorkerSession } from '../lease/workers.ts';
import { Ticker } from './ticker.ts';
import { boardCrawls, boardTotals, diffById, sameCrawl, sameRow, sameTotals, withFleet } from './board-views.ts';
import { RateWindow } from './rate-window.ts';
import { namesFor } from './names.ts';
import { contributorId, contributorView, refreshFromStorage, saveIncrements, storedContributor, type Contributor } from './board-contributor.ts';
import { BoardFleet } from './board-fleet.ts';

export { contributorId } from './board-contributor.ts';
/** Stored rows whose names are read back at start, so their owners keep them after a restart. */
const NAMES_KEPT = 10_000;

export interface BoardOptions {
  /** Time between two broadcasts; 0 runs no timer (call tick() yourself). */
  intervalMs?: number;
  /**
   * A page's crawl progress and the totals are broadcast within this long of
   * its commit, at most once per this long (a light round: crawls and totals,
   * not rows); 0: only with the rounds.
   */
  promptMs?: number;
  /** Rows broadcast to everyone. */
  maxRows?: number;
  /** How long an ended crawl stays on the board. */
  endedCrawlMs?: number;
  now?: () => number;
  /** The other hubs on this database (docs/scale-out.md); none on SQLite. */
  bus?: FleetBus;
  /** Another hub not heard of for this long is taken for gone, with its contributors. */
  staleHubAfterMs?: number;
}

export interface BoardListener {
  delta(delta: BoardDelta): void;
  /** A contributor's own row changed; sent to the pages that identified as it. */
  self(row: BoardContributor): void;
}

export class Board {
  readonly maxRows: number;
  private readonly core: Engine;
  private readonly storage: Storage;
  private readonly now: () => number;
  private readonly endedCrawlMs: number;
  /** Online contributors, the ones on the board, and the ones with unsaved totals; the rest live in storage only. */
  private readonly contributors = new Map<string, Contributor>();
  private readonly bySession = new Map<string, Contributor>();
  private readonly unsaved = new Set<Contributor>();
  /** Contributors whose stored totals could not be read: read again next round. */
  private readonly unread = new Set<Contributor>();
  private readonly hubRate = new RateWindow(60);
  private readonly allTime: ContributorTotals;
  /** What this hub counted since it started (other hubs add it to their all-time totals). */
  private readonly counted: ContributorTotals = { known: 0, pages: 0, items: 0 };
  private readonly fleet: BoardFleet | undefined;
  /** What was last broadcast: a new subscriber's snapshot, and what the next delta is diffed against. */
  private sentRows = new Map<string, BoardContributor>();
  private sentCrawls = new Map<string, BoardCrawl>();
  private sentTotals: BoardTotals | undefined;
  private readonly sentSelf = new Map<string, BoardContributor>();
  private seq = 0;
  private reloadTop = false;
  /** The round's writes and reads (save, evict, reload the top rows), while they run: never two at once. */
  private persisting: Promise<void> | undefined;
  private lastTickAt = 0;
  /** Contributors with a session here, counted as they come and go (the totals are sent up to 5 times a second). */
  private online = 0;
  private readonly ticker: Ticker<BoardListener>;
  private readonly detach: () => void;

  /** Reads the all-time totals and the top rows, then starts the board (and its timer). */
  static async create(core: Engine, options: BoardOptions = {}): Promise<Board> {
    const maxRows = options.maxRows ?? 100;
    const [totals, named] = await Promise.all([core.storage.contributorTotals(), core.storage.topContributors(Math.max(maxRows, NAMES_KEPT))]);
    namesFor(core).seed(named);
    return new Board(core, { ...options, maxRows }, totals, named.slice(0, maxRows));
  }

  private constructor(core: Engine, options: BoardOptions, totals: ContributorTotals, top: readonly ContributorRow[]) {
    this.core = core;
    this.storage = core.storage;
    this.now = options.now ?? (() => core.clock.now());
    this.maxRows = options.maxRows ?? 100;
    this.endedCrawlMs = options.endedCrawlMs ?? 10 * 60_000;
    this.allTime = { ...totals };
    for (const row of top) this.contributors.set(row.id, storedContributor(row));
    this.fleet = options.bus && new BoardFleet(options.bus, {
      now: this.now,
      startedAt: this.now(),
      staleHubAfterMs: options.staleHubAfterMs ?? 10_000,
      counted: (delta) => {
        this.allTime.known += delta.known;
        this.allTime.pages += delta.pages;
        this.allTime.items += delta.items;
      },
      left: () => (this.reloadTop = true),
    });
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
      clock: core.clock,
      prompt: () => this.send(this.now(), { rows: [], removed: [] }),
      promptMs: options.promptMs ?? 0,
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
  async identify(clientId: string, asked: string): Promise<{ id: string; self: BoardContributor | null }> {
    // The page may send the nickname it asked for: its row is under the name it is shown as ("alice (2)").
    const name = namesFor(this.core).shownFor(clientId, asked) ?? asked;
    const id = contributorId(clientId, name);
    const known = this.contributors.get(id);
    if (known) {
      await known.reading;
      return { id, self: contributorView(known, this.now()) };
    }
    const row = await this.storage.contributor(id);
    // It may have joined while storage answered: memory is then the newer.
    const joined = this.contributors.get(id);
    if (joined) return { id, self: contributorView(joined, this.now()) };
    return { id, self: row ? contributorView(storedContributor(row, 1), this.now()) : null };
  }

  watch(id: string): () => void {
    return this.ticker.watch(id);
  }

  /** One round: broadcast what changed since the last round, then persist changed totals (in the background). */
  tick(): void {
    const now = this.now();
    for (const c of this.unread) this.fold(c);

    const here = [...this.contributors.values()].map((c) => {
      const view = contributorView(c, now);
      return { view, listed: view.pages > 0 || this.working(c) };
    });
    // Listed here and online: what the other hubs are told; merged with what they tell: what this hub shows.
    const mine = here.filter((c) => c.listed && c.view.online).map((c) => c.view);
    const { views, listed } = withFleet(here, this.fleet?.rows() ?? new Map());
    const top = listed.sort(compareContributors).slice(0, this.maxRows);
    const { next: nextRows, changed: rows, removed } = diffById(this.sentRows, top, sameRow);
    this.sentRows = nextRows;
    this.send(now, { rows, removed, mine: mine.sort(compareContributors).slice(0, this.maxRows) });

    for (const id of this.ticker.watched()) {
      const row = views.get(id);
      if (!row || sameRow(this.sentSelf.get(id), row)) continue;
      this.sentSelf.set(id, row);
      this.ticker.broadcast((listener) => listener.self(row));
    }
    if (!this.persisting) {
      this.persisting = this.persist()
        .catch((error: unknown) => this.core.log.error({ err: error }, 'board: a round\'s storage work failed'))
        .finally(() => (this.persisting = undefined));
    }
  }

  /**
   * Broadcasts `rows` with whatever changed in the crawls and the totals since
   * the last broadcast (a round's, or a prompt's with no rows: O(crawls)).
   * `mine`: a round's rows for the other hubs, published with the totals.
   */
  private send(now: number, { rows, removed, mine }: { rows: BoardContributor[]; removed: string[]; mine?: BoardContributor[] }): void {
    this.lastTickAt = now;
    const shown = boardCrawls(this.core.crawls.list(), now, this.endedCrawlMs);
    const { next: nextCrawls, changed: crawls, removed: crawlsRemoved } = diffById(this.sentCrawls, shown, sameCrawl);
    this.sentCrawls = nextCrawls;
    const local = this.totals(now);
    if (mine) this.fleet?.publish(mine, local, this.counted);
    const totals = this.fleet?.addTotals(local) ?? local;
    const totalsChanged = !sameTotals(this.sentTotals, totals);
    this.sentTotals = totals;
    if (rows.length === 0 && removed.length === 0 && crawls.length === 0 && crawlsRemoved.length === 0 && !totalsChanged) return;
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

  /** Stops the timer and writes the last totals. */
  async close(): Promise<void> {
    this.ticker.close();
    this.detach();
    this.fleet?.close();
    await this.persisting;
    for (const c of this.unread) this.fold(c);
    await Promise.all([...this.contributors.values()].map((c) => c.reading));
    await this.save();
  }

  private joined(worker: WorkerSession): void {
    const now = this.now();
    const id = contributorId(worker.clientId, worker.name);
    let c = this.contributors.get(id);
    if (!c) {
      const row = { id, clientId: worker.clientId, name: worker.name, kind: worker.kind, pages: 0, items: 0, firstSeenAt: now, lastSeenAt: now };
      c = { ...storedContributor(row), folded: false };
      this.contributors.set(id, c);
      this.fold(c);
    }
    if (c.sessions.size === 0) this.online++;
    c.sessions.add(worker.id);
    c.row.kind = worker.kind;
    c.row.lastSeenAt = now;
    this.bySession.set(worker.id, c);
  }

  /**
   * Reads a contributor's stored totals and adds them to what its row counted
   * since it joined; a contributor storage does not know becomes known with its
   * first page. Pages that come meanwhile are counted once, in the row.
   */
  private fold(c: Contributor): void {
    this.unread.delete(c);
    c.reading = this.storage.contributor(c.row.id).then(
      (stored) => {
        c.reading = undefined;
        c.folded = true;
        if (stored) {
          c.row.pages += stored.pages;
          c.row.items += stored.items;
          c.row.firstSeenAt = Math.min(c.row.firstSeenAt, stored.firstSeenAt);
          c.row.lastSeenAt = Math.max(c.row.lastSeenAt, stored.lastSeenAt);
        } else if (c.row.pages > 0) this.countKnown();
      },
      (error: unknown) => {
        c.reading = undefined;
        this.unread.add(c);
        this.core.log.error({ err: error }, 'board: could not read a contributor\'s totals; trying again next round');
      },
    );
  }

  private left(worker: WorkerSession): void {
    const c = this.bySession.get(worker.id);
    if (!c) return;
    this.bySession.delete(worker.id);
    c.sessions.delete(worker.id);
    if (c.sessions.size === 0) this.online--;
    c.row.lastSeenAt = this.now();
    if (c.row.pages > 0 || !c.folded) this.unsaved.add(c);
    // With fewer online, offline contributors that were evicted may belong on the board again.
    this.reloadTop = true;
  }

  private page(worker: WorkerSession | undefined, items: number): void {
    const now = this.now();
    this.hubRate.add(now);
    // The crawl's progress goes out soon, not with the next round (up to a second away).
    this.ticker.soon();
    // A worker gone before its result was committed has no session any more: the page counts in the hub's rate only.
    const c = worker ? this.bySession.get(worker.id) : undefined;
    if (!c) return;
    if (c.folded && c.row.pages === 0) this.countKnown();
    this.allTime.pages++;
    this.allTime.items += items;
    this.counted.pages++;
    this.counted.items += items;
    c.row.pages++;
    c.row.items += items;
    c.pendingPages++;
    c.pendingItems += items;
    c.row.lastSeenAt = now;
    c.rate.add(now);
    this.unsaved.add(c);
  }

  /** A round's storage work, in order: save, forget what is saved, read the top rows again if someone left. */
  private async persist(): Promise<void> {
    await this.save();
    this.evict();
    if (!this.reloadTop) return;
    this.reloadTop = false;
    try {
      for (const row of await this.storage.topContributors(this.maxRows)) {
        const known = this.contributors.get(row.id);
        // Storage has what every hub counted: a contributor with nothing pending here takes its totals.
        if (known) refreshFromStorage(known, row);
        else this.contributors.set(row.id, storedContributor(row));
      }
    } catch (error) {
      this.reloadTop = true;
      this.core.log.error({ err: error }, 'board: could not read the top contributors');
    }
  }

  /** Adds what the rows counted since the last write to storage; never rejects (on failure it is kept for the next round). */
  private save(): Promise<void> {
    return saveIncrements(this.unsaved, this.storage, (error) => this.core.log.error({ err: error }, 'board: could not save contributor totals'));
  }

  /** A contributor storage did not know has its first page. */
  private countKnown(): void {
    this.allTime.known++;
    this.counted.known++;
  }

  /** Forgets offline contributors that are saved, off the board and watched by no one (storage has them). */
  private evict(): void {
    if (this.contributors.size <= this.maxRows) return;
    for (const [id, c] of this.contributors) {
      if (c.sessions.size === 0 && c.folded && !this.sentRows.has(id) && !this.unsaved.has(c) && !this.ticker.isWatched(id)) {
        this.contributors.delete(id);
      }
    }
  }

  /** Some session of the contributor holds a lease now. */
  private working(c: Contributor): boolean {
    return [...c.sessions].some((session) => this.core.leasesHeldBy(session) > 0);
  }

  private totals(now: number): BoardTotals {
    return boardTotals(this.core.workers.all(), this.online, this.allTime, this.hubRate, now);
  }
}
