// Group commit: the writes asked for in one turn of the event loop run in one
// SQLite transaction, and each caller's promise settles after the commit. One
// fsync-free WAL commit per turn instead of one per write is what lets a hub
// record thousands of results a second; a caller is answered only once its
// write is durable (it survives SIGKILL), and if the transaction fails, every
// write of the batch is rolled back and every caller is told.
//
// When writes come fast, a turn holds one or two results, and each
// transaction's own cost (BEGIN, COMMIT's WAL frames, the crawl's row written
// again) is paid for each. So the window: a write that comes within
// `windowMs` of the last commit waits for the window's end and shares its
// transaction with those that come meanwhile (up to `maxBatch`), while a write
// after a quiet spell commits at the end of its turn, as before: a lone result
// is never held.
import type { DatabaseSync } from 'node:sqlite';
import type { CommitObserver } from '../storage.ts';

interface Op {
  run(): unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** Runs fn in one transaction; rolls back and rethrows on error. */
export function transaction<T>(db: DatabaseSync, fn: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = fn();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}

/** The window's timing: real time by default (it batches writes, it decides nothing a test waits for); tests give a fake. */
export interface CommitTimer {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
}

const realTimer: CommitTimer = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

export interface GroupCommitWindow {
  /** How long after a commit the next one waits for more writes (0: every turn commits). */
  windowMs: number;
  /** A batch this large commits at once, window or not. */
  maxBatch: number;
  timer: CommitTimer;
}

export const DEFAULT_WINDOW: GroupCommitWindow = { windowMs: 8, maxBatch: 64, timer: realTimer };

export class GroupCommit {
  private readonly db: DatabaseSync;
  private readonly onRollback: () => void;
  private readonly window: GroupCommitWindow;
  private batch: Op[] = [];
  private scheduled = false;
  private waiting: unknown;
  private lastCommitAt = Number.NEGATIVE_INFINITY;
  /** Told how long each committed transaction took, and how many writes it held (metrics). */
  observer: CommitObserver | undefined;

  /** `onRollback` forgets what the backend cached about rows the failed batch touched. */
  constructor(db: DatabaseSync, onRollback: () => void, window: GroupCommitWindow = DEFAULT_WINDOW) {
    this.db = db;
    this.onRollback = onRollback;
    this.window = window;
  }

  /** Queues a write for this turn's transaction, or the window's; resolves with what it returned, after the commit. */
  run<T>(write: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.batch.push({ run: write, resolve: resolve as (value: unknown) => void, reject });
      if (this.waiting !== undefined && this.batch.length >= this.window.maxBatch) {
        // Full: it goes at the end of this turn instead.
        this.window.timer.clearTimeout(this.waiting);
        this.waiting = undefined;
        this.scheduled = false;
      }
      if (this.scheduled) return;
      this.scheduled = true;
      const wait = this.lastCommitAt + this.window.windowMs - this.window.timer.now();
      if (wait > 0 && this.batch.length < this.window.maxBatch) {
        this.waiting = this.window.timer.setTimeout(() => {
          this.waiting = undefined;
          this.flush();
        }, wait);
      } else {
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits what is queued now (at close, or before a read that must see it). */
  flush(): void {
    if (this.waiting !== undefined) {
      this.window.timer.clearTimeout(this.waiting);
      this.waiting = undefined;
    }
    this.scheduled = false;
    const batch = this.batch;
    this.batch = [];
    if (batch.length === 0) return;
    this.lastCommitAt = this.window.timer.now();
    const results: unknown[] = [];
    const startedMs = this.observer ? performance.now() : 0;
    try {
      transaction(this.db, () => {
        for (const op of batch) results.push(op.run());
      });
    } catch (error) {
      this.onRollback();
      for (const op of batch) op.reject(error);
      return;
    }
    this.observer?.((performance.now() - startedMs) / 1000, batch.length);
    for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]);
  }
}
