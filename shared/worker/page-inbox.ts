// Page push (issue 11), the worker's side: the pages the hub pushes (`pages`)
// wait here for their leases' jobs, and a job that starts before its page has
// come waits for it. The hub pushes one entry for every lease of a worker that
// takes pushes (the body, the fetch's error, or "ask the relay"), so the wait is
// a safety net: past PAGE_PUSH_WAIT_MS, or when the hub says so, the job asks
// GET /relay/:leaseId as before. A page may come before its lease (the lease
// rode in a results ack still on its way), so pages are kept by lease id,
// within bounds: the oldest go first, and their jobs then ask the relay.
import type { PushedPage } from '../protocol.ts';
import { clearTimer, setTimer } from '../platform.ts';

/** Pages kept for jobs that have not started yet (a worker's capacity is at most 256). */
const MAX_KEPT_PAGES = 1024;
/** Bytes kept so (the hub keeps what it pushes unanswered to 8 MiB per worker by default). */
const MAX_KEPT_BYTES = 64 * 1024 * 1024;

const sizeOf = (page: PushedPage): number => ('body' in page ? page.body.byteLength : 0);

export class PageInbox {
  private readonly pages = new Map<string, PushedPage>();
  private bytes = 0;
  private readonly waiters = new Map<string, (page: PushedPage | undefined) => void>();

  /** Pages the hub pushed: to the jobs waiting for them, or kept for their jobs. */
  received(pages: readonly PushedPage[]): void {
    for (const page of pages) {
      const waiter = this.waiters.get(page.leaseId);
      if (waiter) {
        this.waiters.delete(page.leaseId);
        waiter(page);
        continue;
      }
      this.drop(page.leaseId);
      this.pages.set(page.leaseId, page);
      this.bytes += sizeOf(page);
      while (this.pages.size > MAX_KEPT_PAGES || this.bytes > MAX_KEPT_BYTES) this.drop(this.pages.keys().next().value!);
    }
  }

  /** The lease's pushed page: at once if it came, else when it comes; undefined after `waitMs`, or when the lease is dropped. */
  take(leaseId: string, waitMs: number): Promise<PushedPage | undefined> {
    const page = this.pages.get(leaseId);
    if (page) {
      this.drop(leaseId);
      return Promise.resolve(page);
    }
    return new Promise((resolve) => {
      const timer = setTimer(() => done(undefined), waitMs);
      const done = (found: PushedPage | undefined) => {
        clearTimer(timer);
        if (this.waiters.get(leaseId) === done) this.waiters.delete(leaseId);
        resolve(found);
      };
      this.waiters.get(leaseId)?.(undefined);
      this.waiters.set(leaseId, done);
    });
  }

  /** The lease is gone (revoked, answered): its page, or its job's wait, goes too. */
  drop(leaseId: string): void {
    const page = this.pages.get(leaseId);
    if (page) {
      this.pages.delete(leaseId);
      this.bytes -= sizeOf(page);
    }
    this.waiters.get(leaseId)?.(undefined);
  }

  /** Disconnected: every lease is void. */
  clear(): void {
    this.pages.clear();
    this.bytes = 0;
    for (const waiter of [...this.waiters.values()]) waiter(undefined);
  }

  /** Pages kept, for tests. */
  get size(): number {
    return this.pages.size;
  }
}
