// The live board's protocol (the /board namespace, BOARD_NAMESPACE in
// protocol.ts): who is contributing, the crawls running, the hub's rate.
// Anyone may watch it (volunteers' pages, spectators) without being a worker.
// A new subscriber gets one `board:snapshot`, then `board:delta` events with
// only what changed, at most about once a second.
import { z } from 'zod';
import { helloSchema, type ProtocolError, type Reply, type WorkerKind } from './protocol.ts';
import type { CrawlStatus } from './admin-api.ts';

/** What a board subscriber sends in the socket.io handshake (`auth`). */
export const boardHelloSchema = z.object({ protocolVersion: z.number().int() });
export type BoardHello = z.input<typeof boardHelloSchema>;

/**
 * Asks which board row is this browser's (its clientId and nickname), so the
 * page can show its all-time totals. The reply carries the row's public id;
 * the clientId itself is never shown to anyone.
 */
export const boardIdentifySchema = helloSchema.pick({ clientId: true, name: true });
export type BoardIdentify = z.input<typeof boardIdentifySchema>;

/** One contributor: every session with the same clientId and shown nickname, added up. */
export interface BoardContributor {
  /** Public, stable id (a hash of clientId and shown nickname). */
  readonly id: string;
  /** Unique on the board by confusable skeleton: a second "alice" is "alice (2)" (shared/names.ts). */
  readonly name: string;
  /** The kind of its latest session. */
  readonly kind: WorkerKind;
  readonly online: boolean;
  /** Sessions connected now (tabs of one browser, tabs of one edge process). */
  readonly sessions: number;
  /** All-time totals (kept by the hub across restarts). */
  readonly pages: number;
  readonly items: number;
  /** Pages completed in the last 60 seconds. */
  readonly pagesPerMinute: number;
  /** Epoch ms of the last connection or page. */
  readonly lastSeenAt: number;
}

export interface BoardCrawl {
  readonly id: string;
  readonly name: string;
  readonly status: CrawlStatus;
  readonly pagesDone: number;
  readonly pagesFailed: number;
  readonly queued: number;
  readonly inFlight: number;
  readonly items: number;
  /** The spec's limits.maxPages, when set. */
  readonly maxPages: number | null;
  readonly createdAt: number;
  readonly finishedAt: number | null;
}

export interface BoardTotals {
  readonly contributorsOnline: number;
  readonly sessionsOnline: number;
  readonly sessionsByKind: Readonly<Record<WorkerKind, number>>;
  /** Contributors the hub knows of (online or not). */
  readonly contributorsKnown: number;
  /** Pages completed hub-wide in the last 60 seconds. */
  readonly pagesPerMinute: number;
  /** Pages completed hub-wide per second, averaged over the last 10 seconds. */
  readonly pagesPerSecond: number;
  /** All-time pages and items of every contributor. */
  readonly pages: number;
  readonly items: number;
}

export interface BoardSnapshot {
  /** Deltas carry seq + 1, seq + 2, ...; a gap means a missed delta (ask for `board:resync`). */
  readonly seq: number;
  readonly at: number;
  /**
   * The top contributors by all-time validated pages (online first among equals), at most `maxRows`:
   * only those with a validated page or holding leases now; idle sockets are counted in the totals only.
   */
  readonly rows: BoardContributor[];
  readonly maxRows: number;
  readonly crawls: BoardCrawl[];
  readonly totals: BoardTotals;
}

export interface BoardDelta {
  readonly seq: number;
  readonly at: number;
  /** Rows added or changed (whole rows). */
  readonly rows?: BoardContributor[];
  /** Ids of rows that left the top list. */
  readonly removed?: string[];
  readonly crawls?: BoardCrawl[];
  readonly crawlsRemoved?: string[];
  readonly totals?: BoardTotals;
}

export interface BoardServerToClientEvents {
  'board:snapshot': (snapshot: BoardSnapshot) => void;
  'board:delta': (delta: BoardDelta) => void;
  /** This subscriber's own row changed (sent only to the sockets that identified as it). */
  'board:self': (row: BoardContributor) => void;
  'hub:error': (error: ProtocolError) => void;
}

export interface BoardClientToServerEvents {
  'board:identify': (payload: BoardIdentify, ack: (reply: Reply<{ id: string; self: BoardContributor | null }>) => void) => void;
  /** Sends a fresh snapshot (after a gap in the deltas' seq). */
  'board:resync': (payload: Record<string, never>, ack: (reply: Reply) => void) => void;
}

/** The board's order: most validated pages, then online first, then most recently seen. */
export function compareContributors(a: BoardContributor, b: BoardContributor): number {
  return b.pages - a.pages || Number(b.online) - Number(a.online) || b.lastSeenAt - a.lastSeenAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
