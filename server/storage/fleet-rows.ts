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

/** Storage's methods for the fleet (part of the Storage interface). */
export interface FleetStorage {
  /**
   * Registers this hub (state alive). From now on, on a shared backend, the
   * rows `loadQueued` answers are claimed for it: no other hub reads them
   * while its heartbeat lasts. SQLite, a fleet of one, marks every other hub gone.
   */
  registerHub(hub: HubRow): Promise<void>;
  /** Renews a hub's row; false when it is gone (its rows were given back): it must rejoin. */
  heartbeat(id: string, beat: HubHeartbeat): Promise<boolean>;
  /**
   * Marks gone every alive hub whose heartbeat is older than `before` and
   * gives its claimed rows back to the queue, in one transaction; answers the
   * hubs and how many rows went back. Forgets gone hubs older than `forgetBefore`.
   */
  reclaimDeadHubs(before: number, forgetBefore: number): Promise<{ hubs: string[]; rows: number }>;
  /** A hub leaves cleanly: gone, its claims given back. */
  leaveFleet(id: string, at: number): Promise<void>;
  /** Every hub known, alive first, the latest started first. */
  listHubs(): Promise<HubRow[]>;
}
