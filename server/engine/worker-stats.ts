// What each connected worker has done this session (pages, items, failures,
// and recent completion times for a pages-per-minute figure), and marking it
// ready for more work when a lease of its ends.
import type { Clock } from '../clock.ts';
import type { WorkerRegistry, WorkerSession } from '../lease/workers.ts';

/** Completion times kept per worker: ten minutes at one page a second. */
const RECENT_PAGES = 600;

export class WorkerStats {
  private readonly workers: WorkerRegistry;
  private readonly clock: Clock;

  constructor(workers: WorkerRegistry, clock: Clock) {
    this.workers = workers;
    this.clock = clock;
  }

  /** A worker's page was recorded; answers with the worker, if it is still connected. */
  pageDone(workerId: string, items: number): WorkerSession | undefined {
    const worker = this.workers.get(workerId);
    if (!worker) return undefined;
    worker.pagesDone++;
    worker.items += items;
    worker.recent.push(this.clock.now());
    if (worker.recent.length > RECENT_PAGES) worker.recent.splice(0, worker.recent.length - RECENT_PAGES);
    this.workers.markHungry(worker);
    return worker;
  }

  pageFailed(workerId: string): void {
    const worker = this.workers.get(workerId);
    if (!worker) return;
    worker.failures++;
    this.workers.markHungry(worker);
  }
}
