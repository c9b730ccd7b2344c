// The socket protocol between the hub and its workers: one typed event map used by
// both ends (socket.io's ServerToClientEvents / ClientToServerEvents), and a zod
// schema for every payload the hub receives. Workers are untrusted: the hub
// validates everything inbound with these schemas before it looks at it.
// The hub's other namespaces have their own modules, built on this one's
// version, errors and replies: the live board (board-protocol.ts) and the admin
// console's feed (admin-protocol.ts).
import { z } from 'zod';
import type { Spec } from './spec/schema.ts';
import { WORKER_FAILURE_CODES, type ErrorCode } from './errors.ts';
import { checkNickname } from './names.ts';

/** Bumped on every incompatible change; checked at connect. */
export const PROTOCOL_VERSION = 1;

/** Socket.IO path and namespaces: every one the hub serves, in one list. */
export const WORKER_NAMESPACE = '/';
/** The live board (board-protocol.ts). */
export const BOARD_NAMESPACE = '/board';
/** The admin console's live feed (admin-protocol.ts). */
export const ADMIN_NAMESPACE = '/admin';
export const RELAY_PATH = '/relay';
/** The header a worker proves itself with on relay requests and result uploads. */
export const WORKER_SECRET_HEADER = 'x-crowdcrawl-worker';
/** POST <path>/:leaseId: a result too large for one socket message (Welcome.maxMessageBytes). */
export const RESULT_UPLOAD_PATH = '/results';

/** Per-page limits on what a worker may send back (the extraction engine stays below them). */
export const RESULT_LIMITS = {
  maxItems: 10_000,
  maxLinks: 10_000,
  maxFieldsPerItem: 200,
  maxValueLength: 100_000,
  maxValuesPerField: 1_000,
  maxUrlLength: 8192,
  /**
   * socket.io's maxHttpBufferSize by default (the hub's transport.maxMessageBytes,
   * sent in the Welcome): socket.io reads a whole message before anyone can look
   * at it, so it stays small; a larger result goes through the upload.
   */
  maxMessageBytes: 1024 * 1024,
  /** The result upload's cap by default (transport.maxUploadBytes), read as a stream. */
  maxUploadBytes: 32 * 1024 * 1024,
} as const;

export const WORKER_KINDS = ['tab', 'headless', 'node'] as const;
export type WorkerKind = (typeof WORKER_KINDS)[number];

/** Error codes of `{ ok: false, error }` replies and `hub:error` events: the catalogue's (shared/errors.ts). */
export { ErrorCode } from './errors.ts';

export interface ProtocolError {
  readonly code: ErrorCode;
  readonly message: string;
}

export type Reply<T extends object = object> = ({ ok: true } & T) | { ok: false; error: ProtocolError };

/** What a worker sends in the socket.io handshake (`auth`). */
export const helloSchema = z.strictObject({
  protocolVersion: z.number().int(),
  kind: z.enum(WORKER_KINDS),
  /** Shown to everyone, rendered as text only: normalised and checked by shared/names.ts (refused: NAME_INVALID). */
  name: z.string().transform((s, ctx) => {
    const checked = checkNickname(s);
    if (checked.ok) return checked.name;
    ctx.addIssue({ code: 'custom', message: checked.message });
    return z.NEVER;
  }),
  /** A random id the worker keeps (a browser keeps it in localStorage): how a ban sticks across nicknames. */
  clientId: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'clientId: 16 to 64 characters of [A-Za-z0-9_-]'),
  /** Leases the worker wants in flight at once. */
  capacity: z.number().int().min(0).max(256),
  /** A worker token the hub's operator issued (edge workers): its results are trusted without checks. */
  token: z.string().min(16).max(200).optional(),
  // --- Page push (issue 11): the worker takes pages pushed over this socket (`pages`) instead of asking GET /relay for each.
  pagePush: z.boolean().optional(),
});
export type Hello = z.input<typeof helloSchema>;

export const capacitySchema = z.strictObject({ capacity: z.number().int().min(0).max(256) });
export const specRequestSchema = z.strictObject({
  crawlId: z.string().min(1).max(64),
  /** A lease's version (absent: the current one): leases granted before a spec change keep theirs. */
  specVersion: z.number().int().min(1).max(1_000_000).optional(),
});

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

/** Results in one `results` message at most (each counts against the rate limits on its own). */
export const MAX_RESULTS_PER_BATCH = 32;

/** Several pages' results in one message (all of it within Welcome.maxMessageBytes). */
export const resultsSchema = z.strictObject({ results: z.array(resultSchema).min(1).max(MAX_RESULTS_PER_BATCH) });

/** The hub's answer to one result: `pending` when it is held back until a second opinion agrees (docs/trust.md). */
export type ResultReply = Reply<{ duplicate: boolean; pending?: boolean }>;

/**
 * The answer to a `results` message: one reply per result, in order, each
 * given after that result's commit; and the leases granted to the worker
 * meanwhile (the capacity the commits freed), so they need no message of their own.
 */
export type ResultsReply = Reply<{ replies: ResultReply[]; leases?: Lease[] }>;

export const failureSchema = z.strictObject({
  leaseId: z.string().min(1).max(64),
  /** Only the catalogue's worker failure codes: the hub records each as WORKER_<code>. */
  code: z.enum(WORKER_FAILURE_CODES),
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
  /** The largest socket message the hub reads; a result whose JSON is larger goes to POST /results/:leaseId. */
  readonly maxMessageBytes: number;
  /** Page push (issue 11): true when the hub will push every lease's page (`pages`), as the hello asked; absent: use the relay. */
  readonly pagePush?: boolean;
}

// --- Page push (issue 11) ---------------------------------------------------
// A worker that says `pagePush: true` in its hello (and whose welcome says so
// too) is sent, for every lease it holds, one `pages` entry once the relay's
// fetch of the lease's page is done: the body, the fetch's error, or `relay`
// (the page is too large for a message, or too many pushed bytes are waiting:
// GET /relay/:leaseId as before). A pushed body counts as the page served.
// Bodies go as binary attachments: no JSON escaping on the hub, no JSON
// parse of the page in the browser.

/** One lease's page pushed by the hub. */
export type PushedPage =
  | {
      readonly leaseId: string;
      /** The page's bytes, UTF-8 (what GET /relay/:leaseId would answer). */
      readonly body: ArrayBuffer | Uint8Array;
      readonly finalUrl: string;
      readonly status: number;
    }
  | { readonly leaseId: string; readonly error: { readonly code: ErrorCode; readonly message: string; readonly retryable: boolean } }
  | { readonly leaseId: string; readonly relay: true };

/** How long a worker waits for a lease's pushed page before it asks the relay (the hub pushes every one: this is a safety net). */
export const PAGE_PUSH_WAIT_MS = 15_000;
// --- end page push ------------------------------------------------------------

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
  /** A crawl has a new spec version, pushed by its operator: leases from now on carry it (older leases keep theirs). */
  'spec:changed': (change: CrawlSpecReply) => void;
  /** Page push (issue 11): leases' pages, fetched by the hub, for a worker that said `pagePush` (see PushedPage). */
  pages: (pages: PushedPage[]) => void;
}

/** Events a worker sends to the hub; every one with an ack. */
export interface ClientToServerEvents {
  capacity: (payload: { capacity: number }, ack: (reply: Reply) => void) => void;
  'spec:get': (payload: { crawlId: string; specVersion?: number }, ack: (reply: Reply<CrawlSpecReply>) => void) => void;
  /** One page's result (workers send `results`; this one stays for simple clients). */
  result: (payload: ResultPayload, ack: (reply: ResultReply) => void) => void;
  /** Several pages' results at once: one reply each, in order, plus any new leases. */
  results: (payload: { results: ResultPayload[] }, ack: (reply: ResultsReply) => void) => void;
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
