// The board across a fleet of hubs (docs/scale-out.md, "Live views across
// hubs"). Each hub's board, once a tick, publishes on the fleet bus what only
// it knows: its online contributors (their sessions and rates here, their
// totals as it counts them), its totals (sessions, rates) and how many pages,
// items and new contributors it has counted since its board started. Every
// other hub merges that into its own board, so a volunteer's page on any hub
// shows everyone contributing to the fleet. One notice per hub per tick, and
// only when it changed (or, while it has something to say, every
// keepalive): the board's batching holds across the fleet. A hub not heard of
// for `staleHubAfterMs` (dead) is dropped, with its contributors; a hub that
// closes says so at once.
//
// Pages and items of a contributor are all-time totals in storage, which
// every hub adds its increments to; a hub shows, for a contributor counted on
// several hubs, the largest of their totals (exact when one hub counts it, as
// sticky sessions make the rule), and reads the stored totals again when a
// remote contributor leaves.
import { z } from 'zod';
import { WORKER_KINDS, type WorkerKind } from '../../shared/protocol.ts';
import type { BoardContributor, BoardTotals } from '../../shared/board-protocol.ts';
import { FLEET_CHANNELS, MAX_NOTICE_BYTES, type FleetBus } from '../storage/fleet-bus.ts';
import type { ContributorTotals } from '../storage/storage.ts';

const count = z.number().int().min(0);
const rowSchema = z.tuple([z.string().max(64), z.string().max(200), z.enum(WORKER_KINDS), count, count, count, count, z.number()]);
/** What a hub publishes (compact: a row is [id, name, kind, sessions, pagesPerMinute, pages, items, lastSeenAt]). */
const noticeSchema = z.object({
  startedAt: z.number(),
  gone: z.literal(true).optional(),
  rows: z.array(rowSchema).max(1000),
  totals: z.object({
    contributorsOnline: count,
    sessionsOnline: count,
    sessionsByKind: z.partialRecord(z.enum(WORKER_KINDS), count),
    pagesPerMinute: count,
    pagesPerSecond: z.number().min(0),
  }),
  counted: z.object({ known: count, pages: count, items: count }),
});
type BoardNotice = z.infer<typeof noticeSchema>;
type HubTotals = BoardNotice['totals'];

/** A contributor online on another hub, as that hub counts it. */
export interface RemoteRow {
  id: string;
  name: string;
  kind: WorkerKind;
  sessions: number;
  pagesPerMinute: number;
  pages: number;
  items: number;
  lastSeenAt: number;
}

export interface BoardFleetOptions {
  now: () => number;
  /** When this board started: what a hub started earlier counted before is in the stored totals read at start. */
  startedAt: number;
  /** A hub not heard of for this long is dropped, with its contributors. */
  staleHubAfterMs: number;
  /** Pages, items and new contributors another hub counted since its last notice: added to the all-time totals. */
  counted(delta: ContributorTotals): void;
  /** Contributors of another hub left (or it died): the stored totals are worth reading again. */
  left(): void;
}

interface RemoteHub {
  heardAt: number;
  notice: BoardNotice;
}

const EMPTY_TOTALS: HubTotals = { contributorsOnline: 0, sessionsOnline: 0, sessionsByKind: {}, pagesPerMinute: 0, pagesPerSecond: 0 };

export class BoardFleet {
  private readonly bus: FleetBus;
  private readonly options: BoardFleetOptions;
  private readonly hubs = new Map<string, RemoteHub>();
  private readonly unsubscribe: () => void;
  private lastSent = '';
  private lastSentAt = 0;

  constructor(bus: FleetBus, options: BoardFleetOptions) {
    this.bus = bus;
    this.options = options;
    this.unsubscribe = bus.subscribe(FLEET_CHANNELS.board, {
      message: (from, payload) => this.heard(from, payload),
      // Too large to send (not expected: notices are cut to fit): keep its last state alive.
      reload: (from) => {
        const hub = this.hubs.get(from);
        if (hub) hub.heardAt = options.now();
      },
      resync: () => options.left(),
    });
  }

  /**
   * This tick's notice: sent when it differs from the last one, or every
   * keepalive (a third of staleHubAfterMs) while there is something to say.
   */
  publish(rows: readonly BoardContributor[], totals: BoardTotals, counted: ContributorTotals): void {
    const now = this.options.now();
    const notice: BoardNotice = {
      startedAt: this.options.startedAt,
      rows: rows.map((r) => [r.id, r.name, r.kind, r.sessions, r.pagesPerMinute, r.pages, r.items, r.lastSeenAt]),
      totals: {
        contributorsOnline: totals.contributorsOnline,
        sessionsOnline: totals.sessionsOnline,
        sessionsByKind: totals.sessionsByKind,
        pagesPerMinute: totals.pagesPerMinute,
        pagesPerSecond: totals.pagesPerSecond,
      },
      counted: { ...counted },
    };
    const payload = this.fit(notice);
    const empty = notice.rows.length === 0 && notice.totals.sessionsOnline === 0 && notice.totals.pagesPerMinute === 0;
    const due = payload !== this.lastSent || (!empty && now - this.lastSentAt >= this.options.staleHubAfterMs / 3);
    if (!due) return;
    this.lastSent = payload;
    this.lastSentAt = now;
    this.bus.publish(FLEET_CHANNELS.board, payload);
  }

  /** The contributors online on other hubs, by id (a contributor on several hubs added up), after dropping hubs not heard of. */
  rows(): Map<string, RemoteRow> {
    this.dropStale();
    const out = new Map<string, RemoteRow>();
    for (const hub of this.hubs.values()) {
      for (const [id, name, kind, sessions, pagesPerMinute, pages, items, lastSeenAt] of hub.notice.rows) {
        const seen = out.get(id);
        if (!seen) out.set(id, { id, name, kind, sessions, pagesPerMinute, pages, items, lastSeenAt });
        else {
          seen.sessions += sessions;
          seen.pagesPerMinute += pagesPerMinute;
          seen.pages = Math.max(seen.pages, pages);
          seen.items = Math.max(seen.items, items);
          seen.lastSeenAt = Math.max(seen.lastSeenAt, lastSeenAt);
        }
      }
    }
    return out;
  }

  /** The other hubs' totals, added to this hub's. */
  addTotals(local: BoardTotals): BoardTotals {
    const sum = { ...local, sessionsByKind: { ...local.sessionsByKind } };
    for (const hub of this.hubs.values()) {
      const t = hub.notice.totals;
      sum.contributorsOnline += t.contributorsOnline;
      sum.sessionsOnline += t.sessionsOnline;
      for (const kind of WORKER_KINDS) sum.sessionsByKind[kind] += t.sessionsByKind[kind] ?? 0;
      sum.pagesPerMinute += t.pagesPerMinute;
      sum.pagesPerSecond = Math.round((sum.pagesPerSecond + t.pagesPerSecond) * 10) / 10;
    }
    return sum;
  }

  /** Tells the other hubs this one is gone, and stops listening. */
  close(): void {
    this.unsubscribe();
    const gone: BoardNotice = { startedAt: this.options.startedAt, gone: true, rows: [], totals: EMPTY_TOTALS, counted: { known: 0, pages: 0, items: 0 } };
    this.bus.publish(FLEET_CHANNELS.board, JSON.stringify(gone));
  }

  /** The notice as JSON, its rows cut (the last first: they are in board order) until it fits in one notice. */
  private fit(notice: BoardNotice): string {
    const room = MAX_NOTICE_BYTES - Buffer.byteLength(this.bus.hubId) - 2;
    let json = JSON.stringify(notice);
    while (Buffer.byteLength(json) > room && notice.rows.length > 0) {
      notice.rows = notice.rows.slice(0, Math.floor(notice.rows.length / 2));
      json = JSON.stringify(notice);
    }
    return json;
  }

  private heard(from: string, payload: string): void {
    let notice: BoardNotice;
    try {
      notice = noticeSchema.parse(JSON.parse(payload));
    } catch {
      return; // Not a board notice this version understands (a hub of another version): ignored.
    }
    const before = this.hubs.get(from);
    if (notice.gone) {
      if (this.hubs.delete(from)) this.options.left();
      return;
    }
    this.hubs.set(from, { heardAt: this.options.now(), notice });
    // What the hub counted since its last notice; all it counted, if it started after this board (else that is in storage).
    const base = before && before.notice.startedAt === notice.startedAt ? before.notice.counted : notice.startedAt >= this.options.startedAt ? undefined : notice.counted;
    const delta = {
      known: Math.max(0, notice.counted.known - (base?.known ?? 0)),
      pages: Math.max(0, notice.counted.pages - (base?.pages ?? 0)),
      items: Math.max(0, notice.counted.items - (base?.items ?? 0)),
    };
    if (delta.known + delta.pages + delta.items > 0) this.options.counted(delta);
    if (!before) return;
    const now = new Set(notice.rows.map(([id]) => id));
    if (before.notice.rows.some(([id]) => !now.has(id))) this.options.left();
  }

  private dropStale(): void {
    const oldest = this.options.now() - this.options.staleHubAfterMs;
    for (const [id, hub] of this.hubs) {
      if (hub.heardAt >= oldest) continue;
      this.hubs.delete(id);
      this.options.left();
    }
  }
}
