// The worker loop, the same for a volunteer's browser tab, a headless edge tab
// and the Node worker: take leases the hub pushes, fetch each page through the
// hub's relay, extract with the crawl's spec, send items and links back.
// Only the socket, `fetch` and the extraction function differ between them, so
// they are passed in; this file uses nothing but standard web APIs.
//
// Round trips per page: leases come in batches (as many as the worker has free
// capacity for, pushed by the hub); results go in batches (those finished while
// the previous batch waits for its ack go together, Nagle-style, so a busy
// worker sends fewer, larger messages and an idle one sends at once); and the
// ack of a batch carries the leases its commits made room for. A worker that
// says `pagePush` in its hello gets each lease's page pushed over the socket
// as soon as the hub has fetched it (page-inbox.ts), instead of asking the relay.
import type { Socket } from 'socket.io-client';
import {
  ACK_TIMEOUT_MS,
  PAGE_PUSH_WAIT_MS,
  RELAY_PATH,
  WORKER_SECRET_HEADER,
  type ClientToServerEvents,
  type CrawlSpecReply,
  type Lease,
  type ProtocolError,
  type ServerToClientEvents,
  type Welcome,
} from '../protocol.ts';
import type { Spec } from '../spec/schema.ts';
import { ResultSender } from './result-sender.ts';
import { PageInbox } from './page-inbox.ts';
import type { ExtractedItem } from '../extract/engine.ts';
import { ErrorCode } from '../errors.ts';
import { clearTimer, decodeUtf8, newAbortController, platformFetch, setTimer, type AbortControllerLike, type FetchLike, type TimerHandle } from '../platform.ts';

export type WorkerSocket = Socket<ServerToClientEvents, ClientToServerEvents>;


export interface ExtractOutput {
  items: ExtractedItem[];
  links: string[];
}

export type ExtractFn = (html: string, spec: Spec, pageUrl: string, depth: number) => ExtractOutput | Promise<ExtractOutput>;

/** Handshake refusals that reconnecting cannot change: the loop stops trying (and a Node worker's ready() rejects). */
export const FINAL_REFUSALS: ReadonlySet<string> = new Set<string>([
  ErrorCode.PROTOCOL_MISMATCH,
  ErrorCode.BANNED,
  ErrorCode.BAD_REQUEST,
  ErrorCode.NAME_INVALID,
  ErrorCode.WORKER_TOKEN_UNKNOWN,
  ErrorCode.ORIGIN_NOT_ALLOWED,
]);

export type WorkerState = 'connecting' | 'working' | 'idle' | 'paused' | 'stopped' | 'outdated' | 'banned';

export interface PageActivity {
  readonly leaseId: string;
  readonly url: string;
  stage: 'queued' | 'fetching' | 'extracting' | 'sending';
}

export interface WorkerStats {
  pages: number;
  items: number;
  links: number;
  failures: number;
  bytes: number;
}

export interface WorkerLoopOptions {
  socket: WorkerSocket;
  /** The hub's origin, for relay requests. */
  hubUrl: string;
  extract: ExtractFn;
  /** Pages in flight at once. */
  concurrency: number;
  /** Least time between the starts of two pages (a volunteer's throttle). */
  minDelayMs?: number;
  fetch?: FetchLike;
}

export type WorkerLoopListener = (loop: WorkerLoop) => void;

interface Job {
  lease: Lease;
  activity: PageActivity;
  abort: AbortControllerLike;
}

export class WorkerLoop {
  readonly socket: WorkerSocket;
  readonly hubUrl: string;
  private readonly extract: ExtractFn;
  private readonly fetchImpl: FetchLike;
  concurrency: number;
  minDelayMs: number;
  state: WorkerState = 'connecting';
  welcome: Welcome | undefined;
  lastError: ProtocolError | undefined;
  readonly stats: WorkerStats = { pages: 0, items: 0, links: 0, failures: 0, bytes: 0 };
  private readonly queue: Job[] = [];
  private readonly running = new Map<string, Job>();
  private readonly specs = new Map<string, Promise<Spec>>();
  private readonly listeners = new Set<WorkerLoopListener>();
  private paused = false;
  private lastStartAt = 0;
  private pumpTimer: TimerHandle | undefined;
  private readonly results: ResultSender;
  /** Pages the hub pushed, until their jobs take them. */
  private readonly inbox = new PageInbox();

  constructor(options: WorkerLoopOptions) {
    this.socket = options.socket;
    this.hubUrl = options.hubUrl.replace(/\/+$/, '');
    this.extract = options.extract;
    this.fetchImpl = options.fetch ?? platformFetch;
    this.concurrency = options.concurrency;
    this.minDelayMs = options.minDelayMs ?? 0;
    this.results = new ResultSender(this.socket, this.hubUrl, this.fetchImpl, () => this.welcome, (leases) => this.accept(leases));

    this.socket.on('welcome', (welcome) => {
      this.welcome = welcome;
      this.lastError = undefined;
      this.setState(this.paused ? 'paused' : 'idle');
      // The handshake carried our capacity; send it again in case it changed while we were away.
      this.sendCapacity();
    });
    this.socket.on('leases', (leases) => this.accept(leases));
    this.socket.on('leases:revoked', (ids) => this.revoke(ids));
    this.socket.on('pages', (pages) => this.inbox.received(pages));
    // A crawl's new spec version, pushed by the hub: cached for the leases that will carry it (older leases keep theirs).
    this.socket.on('spec:changed', (change) => this.specs.set(`${change.crawlId}@${change.specVersion}`, Promise.resolve(change.spec)));
    this.socket.on('hub:error', (error) => {
      this.lastError = error;
      this.changed();
    });
    this.socket.on('disconnect', () => {
      // The hub gives our leases back when the connection drops, so work in progress is void.
      this.results.disconnected();
      this.dropAll();
      this.inbox.clear();
      if (this.state !== 'stopped' && this.state !== 'outdated' && this.state !== 'banned') this.setState('connecting');
    });
    this.socket.on('connect_error', (error: Error & { data?: ProtocolError }) => {
      const code = error.data?.code;
      if (code === ErrorCode.PROTOCOL_MISMATCH) this.setState('outdated');
      else if (code === ErrorCode.BANNED) this.setState('banned');
      this.lastError = error.data ?? { code: ErrorCode.CONNECT_FAILED, message: error.message };
      // Reconnecting cannot change these answers: stop trying.
      if (code !== undefined && FINAL_REFUSALS.has(code)) this.socket.disconnect();
      this.changed();
    });
  }

  /** Pages being worked on or waiting, for display. */
  get activity(): PageActivity[] {
    return [...this.running.values(), ...this.queue].map((job) => job.activity);
  }

  onChange(listener: WorkerLoopListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Connects (the socket should be created with autoConnect: false). */
  start(): void {
    if (this.state === 'stopped') return;
    this.socket.connect();
  }

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.releaseQueued();
    this.sendCapacity();
    this.setState('paused');
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.sendCapacity();
    this.setState(this.running.size > 0 ? 'working' : 'idle');
  }

  get isPaused(): boolean {
    return this.paused;
  }

  setConcurrency(concurrency: number): void {
    this.concurrency = Math.max(1, Math.floor(concurrency));
    this.sendCapacity();
    this.pump();
  }

  setMinDelay(ms: number): void {
    this.minDelayMs = Math.max(0, ms);
  }

  /** Hands every lease back and disconnects. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    const ids = [...this.queue, ...this.running.values()].map((job) => job.lease.id);
    this.setState('stopped');
    if (ids.length > 0 && this.socket.connected) {
      await this.socket.timeout(2000).emitWithAck('release', { leaseIds: ids }).catch(() => undefined);
    }
    this.dropAll();
    this.socket.disconnect();
  }

  private capacity(): number {
    return this.paused || this.state === 'stopped' ? 0 : this.concurrency;
  }

  private sendCapacity(): void {
    const capacity = this.capacity();
    const auth = this.socket.auth as Record<string, unknown>;
    if (auth && typeof auth === 'object') auth.capacity = capacity;
    if (this.socket.connected) this.socket.timeout(ACK_TIMEOUT_MS).emit('capacity', { capacity }, () => undefined);
  }

  private accept(leases: Lease[]): void {
    if (this.state === 'stopped') return;
    for (const lease of leases) {
      this.queue.push({ lease, activity: { leaseId: lease.id, url: lease.url, stage: 'queued' }, abort: newAbortController() });
    }
    if (this.paused) this.releaseQueued();
    this.pump();
    this.changed();
  }

  private revoke(ids: string[]): void {
    const revoked = new Set(ids);
    for (let i = this.queue.length - 1; i >= 0; i--) if (revoked.has(this.queue[i]!.lease.id)) this.queue.splice(i, 1);
    for (const id of ids) {
      this.inbox.drop(id);
      const job = this.running.get(id);
      if (job) {
        job.abort.abort();
        this.running.delete(id);
      }
    }
    this.pump();
    this.changed();
  }

  private releaseQueued(): void {
    if (this.queue.length === 0) return;
    const ids = this.queue.splice(0).map((job) => job.lease.id);
    for (const id of ids) this.inbox.drop(id);
    if (this.socket.connected) this.socket.timeout(ACK_TIMEOUT_MS).emit('release', { leaseIds: ids }, () => undefined);
  }

  private dropAll(): void {
    for (const job of this.running.values()) job.abort.abort();
    this.running.clear();
    this.queue.length = 0;
    clearTimer(this.pumpTimer);
    this.pumpTimer = undefined;
    this.changed();
  }

  private pump(): void {
    if (this.pumpTimer !== undefined) return;
    while (this.running.size < this.concurrency && this.queue.length > 0 && !this.paused) {
      const wait = this.lastStartAt + this.minDelayMs - Date.now();
      if (wait > 0) {
        this.pumpTimer = setTimer(() => {
          this.pumpTimer = undefined;
          this.pump();
        }, wait);
        return;
      }
      const job = this.queue.shift()!;
      this.lastStartAt = Date.now();
      this.running.set(job.lease.id, job);
      void this.work(job).finally(() => {
        this.running.delete(job.lease.id);
        this.inbox.drop(job.lease.id);
        if (this.state === 'working' && this.running.size === 0 && this.queue.length === 0) this.setState('idle');
        this.pump();
        this.changed();
      });
    }
    if (this.running.size > 0 && this.state === 'idle') this.setState('working');
  }

  private spec(crawlId: string, specVersion: number): Promise<Spec> {
    const key = `${crawlId}@${specVersion}`;
    let spec = this.specs.get(key);
    if (!spec) {
      spec = this.socket
        .timeout(ACK_TIMEOUT_MS)
        .emitWithAck('spec:get', { crawlId, specVersion })
        .then((reply) => {
          if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`);
          return (reply as CrawlSpecReply).spec;
        });
      spec.catch(() => this.specs.delete(key));
      this.specs.set(key, spec);
    }
    return spec;
  }

  private async work(job: Job): Promise<void> {
    const { lease } = job;
    const live = () => !job.abort.signal.aborted && this.running.get(lease.id) === job;
    try {
      const spec = await this.spec(lease.crawlId, lease.specVersion);
      if (!live()) return;
      job.activity.stage = 'fetching';
      this.changed();
      const page = await this.page(job);
      if (!live()) return;
      if (!page) {
        // The hub has recorded the failure (and will retry the page if it can).
        this.stats.failures++;
        return;
      }
      const { body, finalUrl } = page;
      this.stats.bytes += body.length;
      job.activity.stage = 'extracting';
      this.changed();
      let output: ExtractOutput;
      try {
        output = await this.extract(body, spec, finalUrl, lease.depth);
      } catch (error) {
        this.stats.failures++;
        await this.socket
          .timeout(ACK_TIMEOUT_MS)
          .emitWithAck('failure', { leaseId: lease.id, code: ErrorCode.EXTRACT_FAILED, message: String((error as Error)?.message ?? error).slice(0, 1000) })
          .catch(() => undefined);
        return;
      }
      if (!live()) return;
      job.activity.stage = 'sending';
      this.changed();
      const reply = await this.results.sendUntilStored({ leaseId: lease.id, items: output.items, links: output.links }, job.abort.signal, live);
      if (reply.ok) {
        this.stats.pages++;
        this.stats.items += output.items.length;
        this.stats.links += output.links.length;
      } else {
        this.stats.failures++;
        this.lastError = reply.error;
      }
    } catch (error) {
      if (!live()) return;
      // A fetch that failed on our side, or an ack that timed out: the lease expires or
      // goes back when we disconnect, so nothing is lost.
      this.stats.failures++;
      this.lastError = { code: ErrorCode.WORKER_ERROR, message: String((error as Error)?.message ?? error) };
    }
  }

  /** The lease's page: pushed by the hub when it pushes pages, else (or when told to) from the relay; undefined when its fetch failed. */
  private async page(job: Job): Promise<{ body: string; finalUrl: string } | undefined> {
    const { lease } = job;
    if (this.welcome?.pagePush) {
      const pushed = await this.inbox.take(lease.id, PAGE_PUSH_WAIT_MS);
      if (pushed && 'body' in pushed) return { body: decodeUtf8(pushed.body), finalUrl: pushed.finalUrl };
      if (pushed && 'error' in pushed) return undefined;
      if (job.abort.signal.aborted) return undefined;
      // Told to ask the relay (too large to push, or too much pushed already), or no page came in time.
    }
    const response = await this.fetchImpl(`${this.hubUrl}${RELAY_PATH}/${encodeURIComponent(lease.id)}`, {
      headers: { [WORKER_SECRET_HEADER]: this.welcome?.workerSecret ?? '' },
      signal: job.abort.signal,
      cache: 'no-store',
    });
    const body = await response.text();
    if (!response.ok) return undefined;
    return { body, finalUrl: decodeURI(response.headers.get('x-crowdcrawl-final-url') ?? lease.url) };
  }

  private setState(state: WorkerState): void {
    if (this.state === state) return;
    if (this.state === 'stopped') return;
    this.state = state;
    this.changed();
  }

  private changed(): void {
    for (const listener of this.listeners) listener(this);
  }
}
