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

// Host ownership (docs/scale-out.md, "politeness per host"): a host of a crawl
// is worked by one hub at a time, the one holding its row, so that hub's
// in-memory politeness (concurrency, delay, AutoThrottle, Retry-After) is the
// host's, fleet-wide.

/** What holdHost answers. */
export interface HostHold {
  /** This hub holds the host: it alone claims the host's queued rows. False: another live hub holds it. */
  held: boolean;
  /** No lease to the host before this time: the last holder's delay after its last lease (0: none). */
  notBefore: number;
}

/** A host this hub gives up, and the earliest time its next holder may lease from it. */
export interface HostRelease {
  host: string;
  notBefore: number;
}

export interface HostOwnershipStorage {
  /**
   * Whether hubs share hosts (PostgreSQL, once registered): then a hub holds a
   * host before it reads its rows, and gives it up when it leaves memory. False
   * on SQLite, a fleet of one: every host is the hub's, and the frontier never asks.
   */
  readonly sharesHosts: boolean;
  /**
   * Takes a crawl's host for this hub, when it is free, already this hub's, or
   * held by a hub no longer alive; `held: false` when a live hub holds it (try
   * again later). Until it holds the host, loadQueued claims none of its rows.
   */
  holdHost(crawlId: string, host: string): Promise<HostHold>;
  /** Gives hosts up (they left this hub's memory): free for any hub, with the time their next lease may go out. Rows of theirs this hub claimed go back too. */
  releaseHosts(crawlId: string, hosts: readonly HostRelease[]): Promise<void>;
}

// robots.txt shared by a fleet (docs/scale-out.md): a hub asks storage before
// it fetches an origin's robots.txt, so the fleet fetches each about once per expiry.

/** An origin's robots.txt as a hub read it: its text, or null when it gave no rules (4xx and alike: everything allowed). */
export interface StoredRobots {
  origin: string;
  body: string | null;
  fetchedAt: number;
  /** Fresh until then (robots.cacheTtlMs after it was fetched). */
  expiresAt: number;
}

export interface RobotsStorage {
  /** The latest copy a hub of the fleet stored; undefined when none. SQLite (a fleet of one, whose memory is the cache) keeps none. */
  getRobots(origin: string): Promise<StoredRobots | undefined>;
  /** Keeps a copy, unless a later one is kept already. */
  putRobots(row: StoredRobots): Promise<void>;
}

// Per-address lease caps across a fleet (docs/scale-out.md): each hub publishes
// how many leases each address holds from it, with its heartbeat, and grants an
// address at most the cap minus what the other hubs hold.
export interface AddressLeasesStorage {
  /**
   * Stores this hub's leases per worker address (only addresses holding some)
   * and answers what the other live hubs last published, added up per address.
   * SQLite, a fleet of one: nothing is stored, and there are no others.
   */
  shareAddressLeases(hubId: string, counts: Readonly<Record<string, number>>): Promise<Record<string, number>>;
}

/** Storage's methods for the fleet (part of the Storage interface). */
export interface FleetStorage extends HostOwnershipStorage, RobotsStorage, AddressLeasesStorage {
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
