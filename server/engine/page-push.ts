// Page push (issue 11): a worker that said `pagePush` in its hello gets each
// lease's page over its socket as soon as the relay's fetch is done (`pages`),
// instead of asking GET /relay/:leaseId for it: one round trip per page fewer,
// and in a browser no URLLoader trip through the browser and network-service
// processes. Bodies go as binary attachments (the UTF-8 bytes the relay would
// answer, not re-encoded as JSON strings). Pages ready together share a
// message, up to the largest message the hub itself reads. A page that does
// not fit in one, or that would take the worker's pushed-but-unanswered bytes
// over their bound (backpressure), is not pushed: the worker is told to use the
// relay. A pushed body counts as the page served, exactly as the relay's answer
// does (record.fetched), checked once more just before it goes out: a lease
// revoked, expired or given back meanwhile is not pushed.
import type { PushedPage } from '../../shared/protocol.ts';
import { ErrorCode } from '../../shared/errors.ts';
import type { LeaseRecord, ServedPage } from '../lease/leases.ts';
import type { WorkerSession } from '../lease/workers.ts';
import type { Refusal } from './lease-fetch.ts';

export interface PagePushOptions {
  /** The most a `pages` message carries (the hub's own transport.maxMessageBytes). */
  maxMessageBytes: number;
  /** Bytes pushed to one worker whose leases are still open (not answered yet); past it, pages go through the relay. */
  maxPendingBytesPerWorker: number;
}

/** What a body's entry costs besides its bytes: its lease id, final URL and the message's framing. */
const ENTRY_OVERHEAD_BYTES = 256;

interface WorkerPushes {
  readonly worker: WorkerSession;
  /** Pushed bodies whose leases are still open, with their sizes. */
  readonly pending: Map<LeaseRecord, number>;
  pendingBytes: number;
  /** Entries waiting for this turn's message. */
  batch: { entry: PushedPage; record: LeaseRecord; served?: ServedPage; bytes: number }[];
  batchBytes: number;
  scheduled: boolean;
}

export class PagePusher {
  private readonly options: PagePushOptions;
  private readonly isLive: (record: LeaseRecord) => boolean;
  /** Per worker session: a worker that left (and its pages) is forgotten with its session. */
  private readonly byWorker = new WeakMap<WorkerSession, WorkerPushes>();

  constructor(options: PagePushOptions, isLive: (record: LeaseRecord) => boolean) {
    this.options = options;
    this.isLive = isLive;
  }

  /** The lease's page is ready (fetched, or kept for a second opinion): push it, or tell the worker to ask the relay. */
  ready(worker: WorkerSession, record: LeaseRecord, served: ServedPage): void {
    if (!worker.pushPages || !this.isLive(record)) return;
    if (record.crawl.status !== 'running') {
      // What the relay would answer (the lease is taken back with the crawl's pause or end).
      this.enqueue(worker, { leaseId: record.id, error: { code: ErrorCode.CRAWL_NOT_RUNNING, message: `the crawl is ${record.crawl.status}`, retryable: false } }, record, 0);
      return;
    }
    const bytes = served.payload.length + served.fetched.finalUrl.length + ENTRY_OVERHEAD_BYTES;
    const state = this.stateOf(worker);
    this.prune(state);
    if (bytes > this.options.maxMessageBytes || state.pendingBytes + bytes > this.options.maxPendingBytesPerWorker) {
      this.enqueue(worker, { leaseId: record.id, relay: true }, record, ENTRY_OVERHEAD_BYTES);
      return;
    }
    // Counted as pending now, so pages ready together stay within the bound.
    state.pending.set(record, bytes);
    state.pendingBytes += bytes;
    const entry: PushedPage = { leaseId: record.id, body: served.payload, finalUrl: served.fetched.finalUrl, status: served.fetched.status };
    this.enqueue(worker, entry, record, bytes, served);
  }

  /** The lease's fetch failed (the hub has recorded it): the worker learns why without asking. */
  failed(worker: WorkerSession, record: LeaseRecord, refusal: Refusal): void {
    if (!worker.pushPages) return;
    this.enqueue(worker, { leaseId: record.id, error: { code: refusal.code, message: refusal.message, retryable: refusal.retryable } }, record, ENTRY_OVERHEAD_BYTES);
  }

  /** Bytes pushed to a worker whose leases are still open (tests and stats). */
  pendingBytes(worker: WorkerSession): number {
    const state = this.byWorker.get(worker);
    if (!state) return 0;
    this.prune(state);
    return state.pendingBytes;
  }

  private stateOf(worker: WorkerSession): WorkerPushes {
    let state = this.byWorker.get(worker);
    if (!state) this.byWorker.set(worker, (state = { worker, pending: new Map(), pendingBytes: 0, batch: [], batchBytes: 0, scheduled: false }));
    return state;
  }

  /** A pushed page stops counting once its lease ends (answered, failed, revoked, expired) or its result is being committed. */
  private prune(state: WorkerPushes): void {
    for (const [record, bytes] of state.pending) {
      if (this.isLive(record) && !record.committing) continue;
      state.pending.delete(record);
      state.pendingBytes -= bytes;
    }
  }

  private enqueue(worker: WorkerSession, entry: PushedPage, record: LeaseRecord, bytes: number, served?: ServedPage): void {
    const state = this.stateOf(worker);
    if (state.batchBytes + bytes > this.options.maxMessageBytes) this.send(state);
    state.batch.push({ entry, record, bytes, ...(served ? { served } : {}) });
    state.batchBytes += bytes;
    if (state.scheduled) return;
    state.scheduled = true;
    // Pages whose fetches end in the same turn go in one message.
    setImmediate(() => this.flush(state));
  }

  /** The turn's message goes out; a worker with nothing pushed left is forgotten. */
  private flush(state: WorkerPushes): void {
    state.scheduled = false;
    this.send(state);
    this.prune(state);
    if (state.pending.size === 0 && this.byWorker.get(state.worker) === state) this.byWorker.delete(state.worker);
  }

  private send(state: WorkerPushes): void {
    const batch = state.batch;
    state.batch = [];
    state.batchBytes = 0;
    const pages: PushedPage[] = [];
    for (const { entry, record, served } of batch) {
      if (served) {
        // Checked again as it goes out: a lease that ended meanwhile is not pushed (nor counted).
        if (!this.isLive(record)) continue;
        // Served to the worker: from now on its result is taken, as after the relay's answer.
        record.fetched = served.fetched;
      }
      pages.push(entry);
    }
    if (pages.length > 0) state.worker.pushPages?.(pages);
  }
}
