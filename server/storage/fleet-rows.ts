// The fleet (docs/scale-out.md): hubs that share one database, as storage
// keeps them. A SQLite hub is a fleet of one.
import type { HubView } from '../../shared/admin-api.ts';

/**
 * A hub as the fleet's registry keeps it: GET /api/hubs's fields (declared
 * once, in shared/admin-api.ts) but what the answering hub adds, and its state:
 * `gone` when it left, or its heartbeat stopped and its claimed rows were given
 * back to the queue.
 */
export type HubRow = Omit<HubView, 'alive' | 'self'> & { state: 'alive' | 'gone' };

/** What a heartbeat writes. */
export type HubHeartbeat = Pick<HubRow, 'heartbeatAt' | 'workers' | 'leases' | 'pagesPerSec'>;
