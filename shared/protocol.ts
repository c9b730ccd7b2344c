// The socket protocol between the hub and its workers: one typed event map used by
// both ends (socket.io's ServerToClientEvents / ClientToServerEvents), and a zod
// schema for every payload the hub receives. Workers are untrusted: the hub
// validates everything inbound with these schemas before it looks at it.
import { z } from 'zod';
import type { Spec } from './spec/schema.ts';

/** Bumped on every incompatible change; checked at connect. */
export const PROTOCOL_VERSION = 1;

/** Socket.IO path and namespaces. */
export const WORKER_NAMESPACE = '/';
export const RELAY_PATH = '/relay';
/** The header a worker proves itself with on relay requests. */
export const WORKER_SECRET_HEADER = 'x-crowdcrawl-worker';

/** Per-page limits on what a worker may send back (the extraction engine stays below them). */
export const RESULT_LIMITS = {
  maxItems: 10_000,
  maxLinks: 10_000,
  maxFieldsPerItem: 200,
  maxValueLength: 100_000,
  maxValuesPerField: 1_000,
  maxUrlLength: 8192,
  /** socket.io's maxHttpBufferSize: a page's result must fit in one message. */
  maxMessageBytes: 32 * 1024 * 1024,
} as const;

export const WORKER_KINDS = ['tab', 'headless', 'node'] as const;
export type WorkerKind = (typeof WORKER_KINDS)[number];

/** Error codes that come back in `{ ok: false, error }` replies and `hub:error` events. */
export const ErrorCode = {
  BAD_REQUEST: 'BAD_REQUEST',
  PROTOCOL_MISMATCH: 'PROTOCOL_MISMATCH',
  BANNED: 'BANNED',
  LEASE_UNKNOWN: 'LEASE_UNKNOWN',
  LEASE_NOT_YOURS: 'LEASE_NOT_YOURS',
  LEASE_EXPIRED: 'LEASE_EXPIRED',
  LEASE_NOT_FETCHED: 'LEASE_NOT_FETCHED',
  CRAWL_UNKNOWN: 'CRAWL_UNKNOWN',
  CRAWL_NOT_RUNNING: 'CRAWL_NOT_RUNNING',
  RESULT_INVALID: 'RESULT_INVALID',
  STORAGE_FAILED: 'STORAGE_FAILED',
  UNKNOWN_EVENT: 'UNKNOWN_EVENT',
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface ProtocolError {
  readonly code: string;
  readonly message: string;
}

export type Reply<T extends object = object> = ({ ok: true } & T) | { ok: false; error: ProtocolError };

/** What a worker sends in the socket.io handshake (`auth`). */
export const helloSchema = z.strictObject({
  protocolVersion: z.number().int(),
  kind: z.enum(WORKER_KINDS),
  /** Shown to everyone: trimmed, 1..32 characters, rendered as text only. */
  name: z
    .string()
    .transform((s) => s.normalize('NFC').replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069]/g, '').trim())
    .pipe(z.string().min(1, 'a nickname is needed').max(32, 'nicknames are at most 32 characters')),
  /** A random id the worker keeps (a browser keeps it in localStorage): how a ban sticks across nicknames. */
  clientId: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'clientId: 16 to 64 characters of [A-Za-z0-9_-]'),
  /** Leases the worker wants in flight at once. */
  capacity: z.number().int().min(0).max(256),
});
export type Hello = z.input<typeof helloSchema>;

export const capacitySchema = z.strictObject({ capacity: z.number().int().min(0).max(256) });
export const specRequestSchema = z.strictObject({ crawlId: z.string().min(1).max(64) });

const fieldValue = z.union([
  z.string().max(RESULT_LIMITS.maxValueLength),
  z.array(z.string().max(RESULT_LIMITS.maxValueLength)).max(RESULT_LIMITS.maxValuesPerField),
  z.null(),
]);

/** zod's record silently drops a `__proto__` key (JSON.parse makes one); refuse it instead. */
const noProtoKey = z.custom<unknown>(
  (value) => !(value !== null && typeof value === 'object' && Object.hasOwn(value, '__proto__')),
  'the key "__proto__" is not allowed',
);

export const resultItemSchema = z.strictObject({
  type: z.string().min(1).max(64),
  data: noProtoKey.pipe(z
    .record(z.string().min(1).max(64), fieldValue)
    .refine((d) => Object.keys(d).length <= RESULT_LIMITS.maxFieldsPerItem, 'too many fields')),
});

export const resultSchema = z.strictObject({
  leaseId: z.string().min(1).max(64),
  items: z.array(resultItemSchema).max(RESULT_LIMITS.maxItems),
  links: z.array(z.string().min(1).max(RESULT_LIMITS.maxUrlLength)).max(RESULT_LIMITS.maxLinks),
  /** How long parsing and extraction took on the worker, for stats. */
  extractMs: z.number().min(0).max(3_600_000).optional(),
});
export type ResultPayload = z.output<typeof resultSchema>;

export const failureSchema = z.strictObject({
  leaseId: z.string().min(1).max(64),
  code: z.string().min(1).max(64),
  message: z.string().max(1000),
});
export type FailurePayload = z.input<typeof failureSchema>;

export const releaseSchema = z.strictObject({ leaseIds: z.array(z.string().min(1).max(64)).max(1000) });

/** A unit of work: fetch `url` through the relay, extract with the crawl's spec, send the result. */
export interface Lease {
  readonly id: string;
  readonly crawlId: string;
  readonly url: string;
  readonly depth: number;
  readonly specVersion: number;
  /** Epoch ms; after this the hub takes the URL back. */
  readonly expiresAt: number;
}

export interface Welcome {
  readonly workerId: string;
  /** Sent as the x-crowdcrawl-worker header on relay requests. */
  readonly workerSecret: string;
  readonly protocolVersion: number;
  readonly leaseTtlMs: number;
  readonly name: string;
}

export interface CrawlSpecReply {
  readonly crawlId: string;
  readonly specVersion: number;
  readonly spec: Spec;
}

/** Events the hub sends to a worker. */
export interface ServerToClientEvents {
  welcome: (welcome: Welcome) => void;
  /** New leases; the worker holds them until it sends a result, a failure or a release. */
  leases: (leases: Lease[]) => void;
  /** Leases taken back (expired, crawl paused or cancelled): stop working on them. */
  'leases:revoked': (leaseIds: string[]) => void;
  'hub:error': (error: ProtocolError) => void;
}

/** Events a worker sends to the hub; every one with an ack. */
export interface ClientToServerEvents {
  capacity: (payload: { capacity: number }, ack: (reply: Reply) => void) => void;
  'spec:get': (payload: { crawlId: string }, ack: (reply: Reply<CrawlSpecReply>) => void) => void;
  result: (payload: ResultPayload, ack: (reply: Reply<{ duplicate: boolean }>) => void) => void;
  /** The worker could not process a page it fetched (e.g. its parser crashed). */
  failure: (payload: FailurePayload, ack: (reply: Reply) => void) => void;
  /** Hand leases back unworked (a clean shutdown). */
  release: (payload: { leaseIds: string[] }, ack: (reply: Reply) => void) => void;
}

/** How long a worker waits for an ack before treating the call as failed. */
export const ACK_TIMEOUT_MS = 15_000;

/** Formats zod issues as one line a person can read. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : 'payload'}: ${i.message}`)
    .join('; ');
}

// ---------------------------------------------------------------------------
// The live board: who is contributing, the crawls running, the hub's rate.
// Anyone may watch it (volunteers' pages, spectators) on its own namespace,
// without being a worker. A new subscriber gets one `board:snapshot`, then
// `board:delta` events with only what changed, at most about once a second.

export const BOARD_NAMESPACE = '/board';

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

/** One contributor: every session with the same clientId and nickname, added up. */
export interface BoardContributor {
  /** Public, stable id (a hash of clientId and nickname). */
  readonly id: string;
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
  readonly status: 'created' | 'running' | 'paused' | 'finished' | 'cancelled' | 'failed';
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
  /** The top contributors: online ones first, then by all-time pages; at most `maxRows`. */
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

/** The board's order: online first, then most pages, then most recently seen. */
export function compareContributors(a: BoardContributor, b: BoardContributor): number {
  return Number(b.online) - Number(a.online) || b.pages - a.pages || b.lastSeenAt - a.lastSeenAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

// ---------------------------------------------------------------------------
// The admin console's live feed (the /admin namespace). Only the operator may
// connect: the handshake carries the console's session cookie (or the admin
// token in `auth.token`). Every socket gets an `admin:update` at connect and
// then at most about once a second while anything changes: every crawl's
// progress, every connected worker, the hub's totals. A socket that watches a
// crawl (`admin:watch`) also gets that crawl's `admin:crawl` details.

export const ADMIN_NAMESPACE = '/admin';

/** What an admin socket may send in the handshake (`auth`); the console sends nothing and relies on its cookie. */
export const adminHelloSchema = z.object({ token: z.string().min(1).max(1000).optional() });
export const adminWatchSchema = z.strictObject({ crawlId: z.string().min(1).max(64).nullable() });
export type AdminWatch = z.input<typeof adminWatchSchema>;

export type AdminCrawlStatus = 'created' | 'running' | 'paused' | 'finished' | 'cancelled' | 'failed';

export interface AdminCrawlProgress {
  readonly id: string;
  readonly name: string;
  readonly status: AdminCrawlStatus;
  readonly finishReason: string | null;
  readonly createdAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly done: number;
  readonly failed: number;
  readonly skipped: number;
  /** URLs waiting (not leased). */
  readonly queued: number;
  /** URLs leased to workers now. */
  readonly inFlight: number;
  readonly items: number;
  /** The spec's limits.maxPages, when set. */
  readonly maxPages: number | null;
  /** Pages recorded per second, averaged over the last 10 seconds. */
  readonly pagesPerSecond: number;
}

export interface AdminWorker {
  /** The session id (what disconnect acts on). */
  readonly id: string;
  readonly name: string;
  readonly kind: WorkerKind;
  /** The browser's (or process's) lasting id, which a ban applies to. */
  readonly clientId: string;
  readonly address: string;
  readonly connectedAt: number;
  readonly capacity: number;
  readonly leasesHeld: number;
  /** Leases held per crawl id. */
  readonly leasesByCrawl: Readonly<Record<string, number>>;
  readonly pagesDone: number;
  readonly items: number;
  /** Pages the worker could not process, and relay or lease failures charged to it. */
  readonly failures: number;
  /** Pages completed in the last 60 seconds. */
  readonly pagesPerMinute: number;
}

export interface AdminTotals {
  readonly workers: number;
  readonly workersByKind: Readonly<Record<WorkerKind, number>>;
  readonly leasesInFlight: number;
  /** Pages recorded hub-wide per second, averaged over the last 10 seconds. */
  readonly pagesPerSecond: number;
}

export interface AdminUpdate {
  readonly at: number;
  /** Every crawl, newest first. */
  readonly crawls: AdminCrawlProgress[];
  /** Every connected worker, longest connected first. */
  readonly workers: AdminWorker[];
  readonly totals: AdminTotals;
}

/** Pages recorded per time bucket since the crawl started (or the hub did); buckets widen as the crawl goes on. */
export interface AdminRateSeries {
  /** Epoch ms of the first bucket's start. */
  readonly startAt: number;
  readonly bucketMs: number;
  readonly counts: number[];
}

/** Failed or skipped pages of one error code on one host, with the latest example. */
export interface AdminErrorGroup {
  readonly code: string;
  readonly host: string;
  readonly count: number;
  readonly exampleUrl: string;
  readonly exampleMessage: string | null;
}

/** A worker that recorded pages for a crawl since the hub started. */
export interface AdminCrawlContributor {
  readonly workerId: string;
  readonly name: string;
  readonly kind: WorkerKind;
  readonly pages: number;
  readonly items: number;
  readonly online: boolean;
  /** Leases it holds on this crawl now. */
  readonly leasesHeld: number;
}

export interface AdminCrawlDetail {
  readonly crawlId: string;
  readonly at: number;
  readonly rate: AdminRateSeries;
  /** Final failures and skips, largest group first. */
  readonly errors: AdminErrorGroup[];
  /** Attempts that failed and went back to the queue since the hub started, by error code. */
  readonly retries: Readonly<Record<string, number>>;
  readonly contributors: AdminCrawlContributor[];
}

export interface AdminServerToClientEvents {
  'admin:update': (update: AdminUpdate) => void;
  'admin:crawl': (detail: AdminCrawlDetail) => void;
  'hub:error': (error: ProtocolError) => void;
}

export interface AdminClientToServerEvents {
  /** Follow one crawl's details (null: none). */
  'admin:watch': (payload: AdminWatch, ack: (reply: Reply) => void) => void;
}
