// Group commit: the writes asked for in one turn of the event loop run in one
// SQLite transaction, and each caller's promise settles after the commit. One
// fsync-free WAL commit per turn instead of one per write is what lets a hub
// record thousands of results a second; a caller is answered only once its
// write is durable (it survives SIGKILL), and if the transaction fails, every
// write of the batch is rolled back and every caller is told.
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

export class GroupCommit {
  private readonly db: DatabaseSync;
  private readonly onRollback: () => void;
  private batch: Op[] = [];
  private scheduled = false;
  /** Told how long each committed transaction took, and how many writes it held (metrics). */
  observer: CommitObserver | undefined;

  /** `onRollback` forgets what the backend cached about rows the failed batch touched. */
  constructor(db: DatabaseSync, onRollback: () => void) {
    this.db = db;
    this.onRollback = onRollback;
  }

  /** Queues a write for this turn's transaction; resolves with what it returned, after the commit. */
  run<T>(write: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.batch.push({ run: write, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits what is queued now (at close, or before a read that must see it). */
  flush(): void {
    this.scheduled = false;
    const batch = this.batch;
    this.batch = [];
    if (batch.length === 0) return;
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
