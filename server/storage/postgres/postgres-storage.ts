// The PostgreSQL backend (`crowdcrawl hub --database-url postgres://…`): the
// same Storage as the embedded SQLite one, over node-postgres (`pg`, pure JS).
// Writes join a group commit (group-commit.ts): one transaction per batch on
// one connection, each caller answered after COMMIT. Reads go to the pool's
// other connections and see what is committed. Queue positions come from the
// database (the crawl row's next_seq), not from memory, so another hub on the
// same database never gives the same place twice.
import pg from 'pg';
import type { AdminErrorGroup } from '../../../shared/admin-protocol.ts';
import { ErrorCode } from '../../../shared/errors.ts';
import type {
  BanKind, BanRow, ContributorRow, ContributorTotals, CrawlRow, EndedRequest, ErrorSummaryRow, NewCrawl, NewRequest, NewSource,
  PageRecord, QueuedEntry, ReplacedPage, RequestRow, RequestState, SavedSpecRow, SourceRow, Storage, StoredItem, TrustRow,
  TrustedPage, TrustChange, WorkerTokenRow, CommitObserver, FeedEntry, OpsStorage,
} from '../storage.ts';
import type { FleetLimit, RecordedPage } from '../crawl-sync.ts';
import type { HostHold, HostRelease, HubHeartbeat, HubRow, StoredRobots } from '../fleet-rows.ts';
import { PgSpecVersions } from './spec-versions.ts';
import type { QueuedUrl, SpecVersionRow } from '../spec-versions.ts';
import { PgGroupCommit } from './group-commit.ts';
import * as frontier from './frontier.ts';
import * as pages from './pages.ts';
import { PgLibrary } from './library.ts';
import { migrate } from './schema.ts';
import { PgTrustStore } from './trust-store.ts';
import { delegatePgOps, PgOpsStore } from './ops-store.ts';
import { PgFleetStore } from './fleet-store.ts';
import { PgHostStore } from './host-store.ts';
import { endCrawlIfDrained } from './crawl-sync.ts';

/** The database could not be reached or opened when the hub started. */
export class StorageUnavailableError extends Error {
  override readonly name = 'StorageUnavailableError';
  readonly code = ErrorCode.STORAGE_UNAVAILABLE;
}

/** The URL without its password, for messages and logs. */
export function redactDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(not a URL)';
  }
}

export interface PostgresOptions {
  /** Connections in the pool: one writes (the group commit), the rest read. */
  maxConnections?: number;
  /** How long to wait for a connection at start before giving up with STORAGE_UNAVAILABLE. */
  connectTimeoutMs?: number;
  /** Told when an idle connection fails (the database restarted); the pool opens a new one when needed. */
  onConnectionError?: (error: Error) => void;
}

/** Schedules, webhooks and re-crawls: the methods come from PgOpsStore (ops-store.ts), given in the constructor. */
export interface PostgresStorage extends OpsStorage<StoredItem> {}

export class PostgresStorage implements Storage {
  readonly pool: pg.Pool;
  private readonly commits: PgGroupCommit;
  private readonly trust: PgTrustStore;
  private readonly library: PgLibrary;
  private readonly fleet: PgFleetStore;
  private readonly hostOwners: PgHostStore;
  private readonly versions: PgSpecVersions;

  private constructor(pool: pg.Pool) {
    this.pool = pool;
    this.commits = new PgGroupCommit(pool);
    this.trust = new PgTrustStore(pool, this.commits);
    this.library = new PgLibrary(pool, this.commits);
    this.versions = new PgSpecVersions(pool, this.commits);
    delegatePgOps(this, new PgOpsStore(pool, this.commits));
    this.fleet = new PgFleetStore(pool);
    this.hostOwners = new PgHostStore(pool, () => this.fleet.hubId);
  }

  /** Connects and brings the schema up to date; StorageUnavailableError when the database cannot be reached. */
  static async open(url: string, options: PostgresOptions = {}): Promise<PostgresStorage> {
    const pool = new pg.Pool({
      connectionString: url,
      max: options.maxConnections ?? 8,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      application_name: 'crowdcrawl-hub',
    });
    // An idle connection that dies (the server restarted) must not take the hub with it: pg.Pool emits 'error' for it, and an
    // EventEmitter's 'error' with no listener throws. A connection in use has no pool listener: one that fails between two
    // queries (the server's "terminating connection" arrives then) emits 'error' on its client; its next query fails, and
    // the caller releases it as broken. Each client gets a listener of its own for that.
    pool.on('error', (error) => options.onConnectionError?.(error));
    pool.on('connect', (client) => client.on('error', () => {}));
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      await pool.end().catch(() => {});
      throw new StorageUnavailableError(`cannot connect to the database at ${redactDatabaseUrl(url)}: ${(error as Error).message || String(error)}`, { cause: error });
    }
    try {
      await migrate(client, Date.now());
    } catch (error) {
      client.release(true);
      await pool.end().catch(() => {});
      throw new StorageUnavailableError(`cannot bring the database's schema up to date at ${redactDatabaseUrl(url)}: ${(error as Error).message}`, { cause: error });
    }
    client.release();
    return new PostgresStorage(pool);
  }

  async close(): Promise<void> {
    await this.commits.flush();
    await this.pool.end();
  }

  // Crawls

  createCrawl(c: NewCrawl): Promise<{ row: CrawlRow; queued: QueuedEntry[]; sources: number }> {
    return this.commits.run((tx) => frontier.createCrawl(tx, c));
  }
  listCrawls(): Promise<CrawlRow[]> { return frontier.listCrawls(this.pool); }
  setCrawlStatus(id: string, s: { status: CrawlRow['status']; finishReason: string | null; startedAt: number | null; finishedAt: number | null }): Promise<void> {
    return this.commits.run((tx) => frontier.setCrawlStatus(tx, id, s));
  }

  // A crawl across the fleet (crawl-sync.ts)

  endCrawlIfDrained(crawlId: string, at: number): Promise<boolean> { return this.commits.run((tx) => endCrawlIfDrained(tx, crawlId, at)); }

  // The frontier's queue

  countQueued(crawlId: string): Promise<number> { return frontier.countQueued(this.pool, crawlId); }
  /** Claimed for this hub once it registered (fleet-store.ts): no other hub reads these rows while it is alive. */
  loadQueued(crawlId: string, host: string, afterSeq: number, limit: number): Promise<QueuedEntry[]> {
    return this.fleet.loadQueued(this.pool, crawlId, host, afterSeq, limit, () => frontier.loadQueued(this.pool, crawlId, host, afterSeq, limit));
  }
  nextQueuedHost(crawlId: string, afterHost: string): Promise<string | undefined> { return frontier.nextQueuedHost(this.pool, crawlId, afterHost); }

  // Outcomes

  recordPage(page: PageRecord & FleetLimit): Promise<RecordedPage<QueuedEntry>> { return this.commits.run((tx) => pages.recordPage(tx, page)); }
  endRequest(crawlId: string, key: string, state: 'failed' | 'skipped', e: EndedRequest): Promise<boolean> {
    return this.commits.run((tx) => frontier.endRequest(tx, crawlId, key, state, e));
  }
  requeue(crawlId: string, key: string, r: { attempts: number; notBefore: number; code: string; message: string }): Promise<QueuedEntry | undefined> {
    return this.commits.run((tx) => frontier.requeue(tx, crawlId, key, r));
  }
  replacePage(page: ReplacedPage): Promise<{ itemsBefore: number; itemsAfter: number; queued: QueuedEntry[] }> {
    return this.commits.run((tx) => pages.replacePage(tx, page));
  }
  withdrawPage(crawlId: string, key: string): Promise<{ itemsRemoved: number; queued: QueuedEntry } | undefined> {
    return this.commits.run((tx) => pages.withdrawPage(tx, crawlId, key));
  }

  // Start sources

  countPendingSources(crawlId: string): Promise<number> { return frontier.countPendingSources(this.pool, crawlId); }
  nextPendingSource(crawlId: string): Promise<SourceRow | undefined> { return frontier.nextPendingSource(this.pool, crawlId); }
  listSources(crawlId: string): Promise<SourceRow[]> { return frontier.listSources(this.pool, crawlId); }
  sumSourceUrls(crawlId: string): Promise<number> { return frontier.sumSourceUrls(this.pool, crawlId); }
  retrySource(crawlId: string, url: string, r: { attempts: number; notBefore: number; code: string; message: string }): Promise<void> {
    return this.commits.run((tx) => frontier.retrySource(tx, crawlId, url, r));
  }
  failSource(crawlId: string, url: string, e: { attempts: number; code: string; message: string; at: number }): Promise<void> {
    return this.commits.run((tx) => frontier.failSource(tx, crawlId, url, e));
  }
  completeSource(
    crawlId: string,
    url: string,
    c: { attempts: number; at: number; sources: readonly NewSource[]; urls: readonly NewRequest[]; budget: number },
  ): Promise<{ queued: QueuedEntry[] }> {
    return this.commits.run((tx) => frontier.completeSource(tx, crawlId, url, c));
  }

  // Reads for the console, the API and exports

  getRequest(crawlId: string, key: string): Promise<RequestRow | undefined> { return pages.getRequest(this.pool, crawlId, key); }
  countByState(crawlId: string): Promise<Record<RequestState, number>> { return pages.countByState(this.pool, crawlId); }
  requestsByState(crawlId: string, state: RequestState, limit: number, offset: number): Promise<RequestRow[]> {
    return pages.requestsByState(this.pool, crawlId, state, limit, offset);
  }
  errorSummary(crawlId: string): Promise<ErrorSummaryRow[]> { return pages.errorSummary(this.pool, crawlId); }
  errorGroups(crawlId: string, limit?: number): Promise<AdminErrorGroup[]> { return pages.errorGroups(this.pool, crawlId, limit); }
  countItems(crawlId: string): Promise<number> { return pages.countItems(this.pool, crawlId); }
  iterateItems(crawlId: string, batch?: number, after?: number): AsyncGenerator<StoredItem> { return pages.iterateItems(this.pool, crawlId, batch, after); }
  searchItems(crawlId: string, text: string, after: number, limit: number): Promise<StoredItem[]> {
    return pages.searchItems(this.pool, crawlId, text, after, limit);
  }
  itemFeed(crawlId: string, after: number, limit: number): Promise<FeedEntry[]> { return pages.itemFeed(this.pool, crawlId, after, limit); }
  observeCommits(observer: CommitObserver | undefined): void { this.commits.observer = observer; }

  // Bans, trust, worker tokens and kept bodies (trust-store.ts)

  listBans(): Promise<BanRow[]> { return this.trust.listBans(); }
  addBan(ban: BanRow): Promise<void> { return this.trust.addBan(ban); }
  removeBan(kind: BanKind, value: string): Promise<boolean> { return this.trust.removeBan(kind, value); }
  listTrust(): Promise<TrustRow[]> { return this.trust.listTrust(); }
  saveTrust(rows: readonly TrustRow[]): Promise<void> { return this.trust.saveTrust(rows); }
  updateTrust(changes: readonly TrustChange[]): Promise<TrustRow[]> { return this.trust.updateTrust(changes); }
  listWorkerTokens(): Promise<WorkerTokenRow[]> { return this.trust.listWorkerTokens(); }
  insertWorkerToken(row: WorkerTokenRow): Promise<void> { return this.trust.insertWorkerToken(row); }
  deleteWorkerToken(id: string): Promise<boolean> { return this.trust.deleteWorkerToken(id); }
  trustedPagesOf(clientId: string): Promise<TrustedPage[]> { return this.trust.trustedPagesOf(clientId); }
  getBody(contentHash: string): Promise<Uint8Array | undefined> { return this.trust.getBody(contentHash); }
  pruneBodies(before: number): Promise<number> {
    this.commits.kept.clear(); // whatever it deletes is not written lately any more
    return this.trust.pruneBodies(before);
  }

  // The fleet (fleet-store.ts, docs/scale-out.md)

  registerHub(hub: HubRow): Promise<void> { return this.fleet.registerHub(hub); }
  heartbeat(id: string, beat: HubHeartbeat): Promise<boolean> { return this.fleet.heartbeat(id, beat); }
  reclaimDeadHubs(before: number, forgetBefore: number): Promise<{ hubs: string[]; rows: number }> { return this.fleet.reclaimDeadHubs(before, forgetBefore); }
  leaveFleet(id: string, at: number): Promise<void> { return this.fleet.leaveFleet(id, at); }
  listHubs(): Promise<HubRow[]> { return this.fleet.listHubs(); }

  // Host ownership (host-store.ts): one hub works a host at a time

  get sharesHosts(): boolean { return this.hostOwners.sharesHosts; }
  holdHost(crawlId: string, host: string): Promise<HostHold> { return this.hostOwners.holdHost(crawlId, host); }
  releaseHosts(crawlId: string, hosts: readonly HostRelease[]): Promise<void> { return this.hostOwners.releaseHosts(crawlId, hosts); }
  getRobots(origin: string): Promise<StoredRobots | undefined> { return this.hostOwners.getRobots(origin); }
  putRobots(row: StoredRobots): Promise<void> { return this.hostOwners.putRobots(row); }
  shareAddressLeases(hubId: string, counts: Readonly<Record<string, number>>): Promise<Record<string, number>> { return this.hostOwners.shareAddressLeases(hubId, counts); }

  // The board's contributors and the console's specs (library.ts)

  contributor(id: string): Promise<ContributorRow | undefined> { return this.library.contributor(id); }
  topContributors(limit: number): Promise<ContributorRow[]> { return this.library.topContributors(limit); }
  contributorTotals(): Promise<ContributorTotals> { return this.library.contributorTotals(); }
  addToContributors(increments: readonly ContributorRow[]): Promise<void> { return this.library.addToContributors(increments); }
  listSpecs(): Promise<SavedSpecRow[]> { return this.library.listSpecs(); }
  getSpec(id: string): Promise<SavedSpecRow | undefined> { return this.library.getSpec(id); }
  specNameTaken(name: string): Promise<boolean> { return this.library.specNameTaken(name); }
  insertSpec(row: SavedSpecRow): Promise<SavedSpecRow> { return this.library.insertSpec(row); }
  updateSpec(id: string, change: { name: string; spec: string; updatedAt: number }): Promise<SavedSpecRow | undefined> {
    return this.library.updateSpec(id, change);
  }
  deleteSpec(id: string): Promise<boolean> { return this.library.deleteSpec(id); }

  // A running crawl's spec versions (spec-versions.ts)

  addSpecVersion(crawlId: string, v: { version: number; spec: string; at: number }): Promise<void> { return this.versions.addSpecVersion(crawlId, v); }
  listSpecVersions(crawlId: string): Promise<SpecVersionRow[]> { return this.versions.listSpecVersions(crawlId); }
  scanQueued(crawlId: string, afterKey: string, limit: number): Promise<QueuedUrl[]> { return this.versions.scanQueued(crawlId, afterKey, limit); }
  dropQueued(crawlId: string, version: number, keys: readonly string[], e: { code: string; message: string; at: number }): Promise<number> {
    return this.versions.dropQueued(crawlId, version, keys, e);
  }
  itemsByVersion(crawlId: string): Promise<{ specVersion: number; items: number }[]> { return this.versions.itemsByVersion(crawlId); }
}
