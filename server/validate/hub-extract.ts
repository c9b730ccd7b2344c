// The hub's own opinion on a page: the extraction engine run over the exact
// bytes the relay served, on one worker thread (started on first use). Jobs
// queue there in order; each has a deadline, after which it counts as failed
// and the thread is replaced (a pathological page cannot hold the checks up).
//
// The thread ends when it has had nothing to do for idleMs, and starts again
// on the next job: its isolate, the parser's modules and its heap are 30-70 MB
// of the hub's RSS (docs/performance.md, "Memory"), and once past probation a
// crawl needs the hub's own opinion only now and then (a share of the checks).
import { Worker } from 'node:worker_threads';
import { systemClock, type Clock, type ClockTimer } from '../clock.ts';
import type { ExtractResult } from '../../shared/extract/engine.ts';
import type { Spec } from '../../shared/spec/schema.ts';
import type { ExtractJob } from './extract-thread.ts';

/** The extraction thread's young generation, in MB. */
const EXTRACT_THREAD_YOUNG_GENERATION_MB = 12;
/** How long the thread may sit without a job before it ends. */
export const EXTRACT_THREAD_IDLE_MS = 30_000;

export interface HubExtractorOptions {
  /** The thread ends after this long without a job (default EXTRACT_THREAD_IDLE_MS). */
  idleMs?: number;
  /** For the idle timer (the job deadline keeps real time: it guards against a stuck thread). */
  clock?: Clock;
}

interface Pending {
  resolve(result: ExtractResult): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export class HubExtractor {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly timeoutMs: number;
  private readonly idleMs: number;
  private readonly clock: Clock;
  private idleTimer: ClockTimer | undefined;
  /** Extractions done, for the validation figures. */
  runs = 0;
  /** Threads started so far (one more each time it comes back after idling or a restart). */
  threadStarts = 0;

  constructor(timeoutMs = 30_000, options: HubExtractorOptions = {}) {
    this.timeoutMs = timeoutMs;
    this.idleMs = options.idleMs ?? EXTRACT_THREAD_IDLE_MS;
    this.clock = options.clock ?? systemClock;
  }

  /** Whether the extraction thread is there now (it starts on demand and ends when idle). */
  get threadRunning(): boolean {
    return this.worker !== undefined;
  }

  get queued(): number {
    return this.pending.size;
  }

  extract(html: string, spec: Spec, pageUrl: string, depth: number): Promise<ExtractResult> {
    const worker = this.thread();
    this.clock.clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const id = this.nextId++;
    this.runs++;
    return new Promise<ExtractResult>((resolve, reject) => {
      // Real time on purpose: this guards against a stuck thread, not a crawl's schedule.
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`the hub's extraction took over ${this.timeoutMs} ms`));
        this.restart();
      }, this.timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve, reject, timer });
      const job: ExtractJob = { id, html, spec, pageUrl, depth };
      worker.postMessage(job);
    });
  }

  close(): void {
    this.clock.clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.failAll(new Error('the hub is closing'));
    void this.worker?.terminate();
    this.worker = undefined;
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    // A small young generation: the thread parses one page at a time, and V8's
    // default lets it grow to tens of MB of garbage (docs/performance.md, "Memory").
    const worker = new Worker(new URL('./extract-thread.ts', import.meta.url), { resourceLimits: { maxYoungGenerationSizeMb: EXTRACT_THREAD_YOUNG_GENERATION_MB } });
    worker.unref();
    worker.on('message', (msg: { id: number; result?: ExtractResult; error?: string }) => {
      const job = this.pending.get(msg.id);
      if (!job) return;
      this.pending.delete(msg.id);
      clearTimeout(job.timer);
      if (msg.result) job.resolve(msg.result);
      else job.reject(new Error(msg.error ?? 'extraction failed'));
      this.idleWhenDone();
    });
    worker.on('error', (error) => {
      if (this.worker === worker) this.worker = undefined;
      this.failAll(error);
    });
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
    });
    this.worker = worker;
    this.threadStarts++;
    return worker;
  }

  /** With no job left, the thread ends after idleMs unless one comes first (extract() clears the timer). */
  private idleWhenDone(): void {
    if (this.pending.size > 0 || !this.worker || this.idleTimer !== undefined) return;
    this.idleTimer = this.clock.setTimeout(() => {
      this.idleTimer = undefined;
      if (this.pending.size > 0 || !this.worker) return;
      const idle = this.worker;
      this.worker = undefined;
      void idle.terminate();
    }, this.idleMs);
  }

  private restart(): void {
    const old = this.worker;
    this.worker = undefined;
    // Jobs queued behind the stuck one fail too; their checks ask again.
    this.failAll(new Error('the extraction thread was restarted'));
    void old?.terminate();
  }

  private failAll(error: Error): void {
    for (const [id, job] of this.pending) {
      clearTimeout(job.timer);
      this.pending.delete(id);
      job.reject(error);
    }
  }
}
