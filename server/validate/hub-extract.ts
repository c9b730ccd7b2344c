// The hub's own opinion on a page: the extraction engine run over the exact
// bytes the relay served.
//
// Pages up to inlineMaxChars (128 Ki characters; PostgreSQL's doc pages are
// 10-60 KB) are parsed on the hub's main thread, between its I/O: a few ms of
// CPU each (~3 ms for 30 KB, ~10 ms for 150 KB), against 30-40 MB of RSS for a
// thread with its own isolate and parser modules (docs/performance.md,
// "Memory"), and once past probation a crawl needs the hub's own opinion only
// for a share of its pages.
//
// Bigger pages go to one worker thread (started on first use), so a big page
// never stalls the event loop that serves sockets and the relay. Jobs queue
// there in order; each has a deadline, after which it counts as failed and the
// thread is replaced (a pathological page cannot hold the checks up). The
// thread ends when it has had nothing to do for idleMs, and starts again on the
// next big page.
import { Worker } from 'node:worker_threads';
import { systemClock, type Clock, type ClockTimer } from '../clock.ts';
import type { ExtractResult } from '../../shared/extract/engine.ts';
import type { Spec } from '../../shared/spec/schema.ts';
import type { ExtractJob } from './extract-thread.ts';

/** The extraction thread's young generation, in MB. */
const EXTRACT_THREAD_YOUNG_GENERATION_MB = 12;
/** How long the thread may sit without a job before it ends. */
export const EXTRACT_THREAD_IDLE_MS = 30_000;
/** Pages up to this many characters are extracted on the main thread (see the top of this file). */
export const INLINE_EXTRACT_MAX_CHARS = 128 * 1024;

export interface HubExtractorOptions {
  /** The thread ends after this long without a job (default EXTRACT_THREAD_IDLE_MS). */
  idleMs?: number;
  /** For the idle timer (the job deadline keeps real time: it guards against a stuck thread). */
  clock?: Clock;
  /** Pages up to this many characters are extracted on the main thread (default INLINE_EXTRACT_MAX_CHARS; 0: all on the thread). */
  inlineMaxChars?: number;
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
  private readonly inlineMaxChars: number;
  /** The Node extraction adapter, loaded on the first page extracted inline. */
  private inlineAdapter: Promise<typeof import('../extract/cheerio.ts')> | undefined;
  /** Extractions done, for the validation figures. */
  runs = 0;
  /** Threads started so far (one more each time it comes back after idling or a restart). */
  threadStarts = 0;

  constructor(timeoutMs = 30_000, options: HubExtractorOptions = {}) {
    this.timeoutMs = timeoutMs;
    this.idleMs = options.idleMs ?? EXTRACT_THREAD_IDLE_MS;
    this.clock = options.clock ?? systemClock;
    this.inlineMaxChars = options.inlineMaxChars ?? INLINE_EXTRACT_MAX_CHARS;
  }

  /** Whether the extraction thread is there now (it starts on demand and ends when idle). */
  get threadRunning(): boolean {
    return this.worker !== undefined;
  }

  get queued(): number {
    return this.pending.size;
  }

  extract(html: string, spec: Spec, pageUrl: string, depth: number): Promise<ExtractResult> {
    this.runs++;
    if (html.length <= this.inlineMaxChars) return this.extractInline(html, spec, pageUrl, depth);
    const worker = this.thread();
    this.clock.clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const id = this.nextId++;
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

  private async extractInline(html: string, spec: Spec, pageUrl: string, depth: number): Promise<ExtractResult> {
    const { extractHtml } = await (this.inlineAdapter ??= import('../extract/cheerio.ts'));
    // After the I/O already waiting, so one page's parse does not sit in front of it.
    await new Promise((resolve) => setImmediate(resolve));
    return extractHtml(html, spec, pageUrl, { depth });
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
