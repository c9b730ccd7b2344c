// A connected worker as the operator sees it: what GET /workers and the /admin
// live feed both show.
import type { WorkerView } from '../../shared/admin-api.ts';
import type { WorkerSession } from '../lease/workers.ts';
import type { Engine } from './engine.ts';

export function workerBasics(engine: Engine, w: WorkerSession): Omit<WorkerView, 'pagesLastMinute'> {
  return {
    id: w.id,
    name: w.name,
    kind: w.kind,
    clientId: w.clientId,
    address: w.address,
    connectedAt: w.connectedAt,
    capacity: w.capacity,
    leasesHeld: engine.leasesHeldBy(w.id),
    pagesDone: w.pagesDone,
    items: w.items,
    failures: w.failures,
  };
}

/** Pages the worker completed in the 60 seconds before `now`. */
export function pagesInLastMinute(w: WorkerSession, now: number): number {
  return w.recent.filter((t) => now - t < 60_000).length;
}

