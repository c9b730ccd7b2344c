// The hub's own opinion on a page: the extraction engine run over the exact
// bytes the relay served, on one worker thread (started on first use). Jobs
// queue there in order; each has a deadline, after which it counts as failed
// and the thread is replaced (a pathological page cannot hold the checks up).
import { Worker } from 'node:worker_threads';
import type { ExtractResult } from '../../shared/extract/engine.ts';
import type { Spec } from '../../shared/spec/schema.ts';
import type { ExtractJob } from './extract-thread.ts';

/** The extraction thread's young generation, in MB. */
const EXTRACT_THREAD_YOUNG_GENERATION_MB = 12;

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
  /** Extractions done, for the validation figures. */
  runs = 0;

  constructor(timeoutMs = 30_000) {
    this.timeoutMs = timeoutMs;
  }

  get queued(): number {
    return this.pending.size;
  }

  extract(html: string, spec: Spec, pageUrl: string, depth: number): Promise<ExtractResult> {
    const worker = this.thread();
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
    });
    worker.on('error', (error) => {
      if (this.worker === worker) this.worker = undefined;
      this.failAll(error);
    });
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
    });
    this.worker = worker;
    return worker;
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
