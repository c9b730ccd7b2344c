// The admin console's live feed (the /admin namespace, ADMIN_NAMESPACE in
// protocol.ts). Only the operator may connect: the handshake carries the
// console's session cookie (or the admin token in `auth.token`). Every socket
// gets an `admin:update` at connect and then at most about once a second while
// anything changes: every crawl's progress, every connected worker, the hub's
// totals. A socket that watches a crawl (`admin:watch`) also gets that crawl's
// `admin:crawl` details. (The admin HTTP API's shapes are in admin-api.ts.)
import { z } from 'zod';
import type { ProtocolError, Reply, WorkerKind } from './protocol.ts';
import type { CrawlStatus, CrawlValidation, StorageStatus } from './admin-api.ts';

/** What an admin socket may send in the handshake (`auth`); the console sends nothing and relies on its cookie. */
export const adminHelloSchema = z.object({ token: z.string().min(1).max(1000).optional() });
export const adminWatchSchema = z.strictObject({ crawlId: z.string().min(1).max(64).nullable() });
export type AdminWatch = z.input<typeof adminWatchSchema>;

export interface AdminCrawlProgress {
  readonly id: string;
  readonly name: string;
  readonly status: CrawlStatus;
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
  /** How its results were believed: checked, trusted, rejected, pending, and the cost (docs/trust.md). */
  readonly validation: CrawlValidation;
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
  /** Whether the hub can reach its storage (the console shows a banner while it cannot). */
  readonly storage: StorageStatus;
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
