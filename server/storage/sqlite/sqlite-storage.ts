// The embedded backend: node:sqlite (no native addon), one file in the data
// dir, WAL. Reads answer at once; writes join this turn's group commit. Queue
// positions (seq) are given here, from a per-crawl counter kept in memory: this
// process is the database's only writer, and after a failed batch the counters
// are read again from the table.
import type { DatabaseSync } from 'node:sqlite';
import type { AdminErrorGroup } from '../../../shared/admin-protocol.ts';
import {
  type BanKind, type BanRow, type ReplacedPage, type TrustChange, type TrustRow, type TrustedPage, type WorkerTokenRow,
  type ContributorRow, type ContributorTotals, type CrawlRow, type EndedRequest, type ErrorSummaryRow, type NewCrawl,
  type NewRequest, type NewSource, type PageRecord, type QueuedEntry, type RequestRow, type RequestState, type SavedSpecRow,
  type SourceRow, type Storage, type StoredItem, type CommitObserver, type FeedEntry, type OpsStorage,
} from '../storage.ts';
import type { FleetLimit, RecordedPage } from '../crawl-sync.ts';
import type { HostHold, HostRelease, HubHeartbeat, HubRow, StoredRobots } from '../fleet-rows.ts';
import { SqliteSpecVersions } from './spec-versions.ts';
import type { QueuedUrl, SpecVersionRow } from '../spec-versions.ts';
import { GroupCommit } from './group-commit.ts';
import { KnownKeys } from '../known-keys.ts';
import { KeptBodies } from '../kept-bodies.ts';
import { ContributorStore } from './contributor-store.ts';
import { SqliteItemFeed } from './item-feed.ts';
import { openDatabase } from './schema.ts';
import { prepareStatements, SOURCE_STATE_CODES, STATE_CODES, type Statements } from './statements.ts';
import { SqliteTrustStore, VALIDATION_CODES } from './trust-store.ts';
import { attachOps } from './ops-store.ts';
import { SqliteFleetStore } from './fleet-store.ts';
import { SqliteSpecLibrary } from './spec-library.ts';
import { SqliteCrawlSync } from './crawl-sync.ts';
import { crawlRow, queuedEntry, requestRow, sourceRow, storedItem, type QueuedArray } from './rows.ts';


/** Schedules, webhooks and re-crawls: their methods are given in the constructor (attachOps, ops-store.ts). */
export interface SqliteStorage extends OpsStorage<StoredItem> {}

export class SqliteStorage implements Storage {
  /** For tests and tools that check the file itself (integrity, hashes). */
  readonly db: DatabaseSync;
  private readonly s: Statements;
  private readonly contributors: ContributorStore;
  private readonly commits: GroupCommit;
  private readonly nextSeq = new Map<string, number>();
  /** Links known to be in the requests table: not inserted again (known-keys.ts). */
  private readonly known = new KnownKeys();
  /** Bodies this store wrote lately: not compressed nor written again (kept-bodies.ts). */
  private readonly kept = new KeptBodies();
  private readonly trust: SqliteTrustStore;
  private readonly fleet: SqliteFleetStore;
  private readonly specs: SqliteSpecLibrary;
  private readonly feed: SqliteItemFeed;
  private readonly versions: SqliteSpecVersions;
  private readonly crawlSync: SqliteCrawlSync;

  constructor(db: DatabaseSync) {
    this.db = db;
    this.s = prepareStatements(db);
    // A rolled-back batch may have taken queue places and item positions it did not store.
    this.commits = new GroupCommit(db, () => { this.nextSeq.clear(); this.feed.forget(); this.known.clear(); this.kept.clear(); });
    this.contributors = new ContributorStore(this.s, this.commits);
    this.feed = new SqliteItemFeed(db);
    this.trust = new SqliteTrustStore(db, this.commits);
    this.versions = new SqliteSpecVersions(db, this.commits);
    attachOps(this, db, this.commits, { forgetSeq: (crawlId) => { this.nextSeq.delete(crawlId); this.known.forget(crawlId); }, takeItemId: () => this.feed.take() });
    this.fleet = new SqliteFleetStore(db, this.commits);
    this.specs = new SqliteSpecLibrary(this.s, this.commits);
    this.crawlSync = new SqliteCrawlSync(db);
    this.insertBody = db.prepare('INSERT INTO bodies (content_hash, data, stored_at) VALUES (?, ?, ?) ON CONFLICT (content_hash) DO UPDATE SET stored_at = excluded.stored_at');
    this.deletePageItems = db.prepare('DELETE FROM items WHERE crawl_id = ? AND request_key = ?');
    this.replaceDone = db.prepare(
      `UPDATE requests SET items = ?, links = ?, worker = 'hub', lease_id = NULL, validation = ${VALIDATION_CODES.hub}, result_digest = ?, done_at = ?
       WHERE crawl_id = ? AND key = ? AND state = 2 RETURNING final_url, spec_version`,
    );
    this.reopen = db.prepare(
      `UPDATE requests SET state = 0, seq = ?, not_before = 0, items = NULL, links = NULL, worker = NULL, lease_id = NULL,
       validation = NULL, result_digest = NULL, client_id = NULL, done_at = NULL, error_code = 'RESULT_WITHDRAWN',
       error_message = 'its contributor was caught cheating and the page body was no longer kept'
       WHERE crawl_id = ? AND key = ? AND state = 2 RETURNING key, url, host, depth, seq, attempts, not_before`,
    );
    this.reopen.setReturnArrays(true);
  }

  private readonly insertBody: ReturnType<DatabaseSync['prepare']>;
  private readonly deletePageItems: ReturnType<DatabaseSync['prepare']>;
  private readonly replaceDone: ReturnType<DatabaseSync['prepare']>;
  private readonly reopen: ReturnType<DatabaseSync['prepare']>;

  static open(dataDir: string): SqliteStorage {
    return new SqliteStorage(openDatabase(dataDir));
  }

  async close(): Promise<void> {
    this.commits.flush();
    this.db.close();
  }

  // Inside a transaction: queue positions and inserts.

  private takeSeq(crawlId: string): number {
    let next = this.nextSeq.get(crawlId);
    if (next === undefined) next = Number((this.s.maxSeq.get(crawlId) as { m: number | null }).m ?? 0) + 1;
    this.nextSeq.set(crawlId, next + 1);
    return next;
  }

  private insertRequests(crawlId: string, requests: readonly NewRequest[], budget = Number.POSITIVE_INFINITY): QueuedEntry[] {
    const queued: QueuedEntry[] = [];
    for (const r of requests) {
      if (queued.length >= budget) break;
      if (this.known.has(crawlId, r.key)) continue;
      const seq = this.takeSeq(crawlId);
      if (Number(this.s.insertRequest.run(crawlId, r.key, r.url, r.host, r.depth, seq).changes) === 1) {
        queued.push({ key: r.key, url: r.url, host: r.host, depth: r.depth, seq, attempts: 0, notBefore: 0 });
      } else {
        // Seen before: its seq is given back, so positions stay dense.
        this.nextSeq.set(crawlId, seq);
      }
      this.known.add(crawlId, r.key);
    }
    return queued;
  }

  private insertSources(crawlId: string, sources: readonly NewSource[]): number {
    let added = 0;
    for (const src of sources) added += Number(this.s.insertSource.run(crawlId, src.url, src.kind, src.scopeBase, src.nesting).changes);
    return added;
  }

  private bump(crawlId: string, c: { done?: number; failed?: number; skipped?: number; items?: number }): void {
    this.s.bump.run(c.done ?? 0, c.failed ?? 0, c.skipped ?? 0, c.items ?? 0, crawlId);
  }

  // Crawls

  createCrawl(c: NewCrawl): Promise<{ row: CrawlRow; queued: QueuedEntry[]; sources: number }> {
    return this.commits.run(() => {
      this.s.insertCrawl.run(c.id, c.name, c.spec, c.specVersion, 'created', c.createdAt);
      const queued = this.insertRequests(c.id, c.startUrls);
      const sources = this.insertSources(c.id, c.sources);
      return { row: crawlRow(this.s.getCrawl.get(c.id)), queued, sources };
    });
  }

  async listCrawls(): Promise<CrawlRow[]> { return this.s.listCrawls.all().map(crawlRow); }

  setCrawlStatus(id: string, s: { status: CrawlRow['status']; finishReason: string | null; startedAt: number | null; finishedAt: number | null }): Promise<void> {
    return this.commits.run(() => {
      this.s.setStatus.run(s.status, s.finishReason, s.startedAt, s.finishedAt, id);
    });
  }

  // A crawl across the fleet (crawl-sync.ts; a fleet of one here)

  endCrawlIfDrained(crawlId: string, at: number): Promise<boolean> {
    return this.commits.run(() => this.crawlSync.endIfDrained(crawlId, at));
  }

  // The frontier's queue

  async countQueued(crawlId: string): Promise<number> {
    return Number((this.s.countQueued.get(crawlId) as { n: number }).n);
  }

  async loadQueued(crawlId: string, host: string, afterSeq: number, limit: number): Promise<QueuedEntry[]> {
    const rows = this.s.loadQueued.all(crawlId, host, afterSeq, limit) as unknown as QueuedArray[];
    const out: QueuedEntry[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = queuedEntry(rows[i]!);
    return out;
  }

  async nextQueuedHost(crawlId: string, afterHost: string): Promise<string | undefined> {
    return (this.s.nextQueuedHost.get(crawlId, afterHost) as [string] | undefined)?.[0];
  }

  // Outcomes

  recordPage(r: PageRecord & FleetLimit): Promise<RecordedPage<QueuedEntry>> {
    return this.commits.run(() => {
      const changes = this.s.markDone.run(
        r.finalUrl, r.httpStatus, r.contentHash, r.items.length, r.links.length, r.worker, r.leaseId, r.specVersion, r.doneAt,
        r.clientId, VALIDATION_CODES[r.validation], r.resultDigest, r.crawlId, r.key,
      ).changes;
      if (Number(changes) !== 1) return { recorded: false, queued: [] };
      for (const item of r.items) {
        this.s.insertItem.run(this.feed.take(), r.crawlId, r.key, r.finalUrl, item.type, JSON.stringify(item.data), r.specVersion, r.worker, r.doneAt);
      }
      const queued = this.insertRequests(r.crawlId, r.links);
      this.bump(r.crawlId, { done: 1, items: r.items.length });
      const checked = r.validation === 'checked' || r.validation === 'hub' ? 1 : 0;
      this.s.bumpValidation.run(checked, 1 - checked, r.rejected, r.extraExtractions, 0, r.crawlId);
      const body = r.body && this.kept.toWrite(r.body, r.doneAt);
      if (body) this.insertBody.run(r.body!.contentHash, body, r.doneAt);
      return { recorded: true, queued };
    });
  }

  replacePage(r: ReplacedPage): Promise<{ itemsBefore: number; itemsAfter: number; queued: QueuedEntry[] }> {
    return this.commits.run(() => {
      this.feed.withdrawPageItems(r.crawlId, r.key);
      const itemsBefore = Number(this.deletePageItems.run(r.crawlId, r.key).changes);
      const row = this.replaceDone.get(r.items.length, r.links.length, r.resultDigest, r.doneAt, r.crawlId, r.key) as
        | { final_url: string; spec_version: number }
        | undefined;
      if (!row) throw new Error(`page ${r.key} of crawl ${r.crawlId} is not done`);
      for (const item of r.items) {
        this.s.insertItem.run(this.feed.take(), r.crawlId, r.key, row.final_url, item.type, JSON.stringify(item.data), row.spec_version, 'hub', r.doneAt);
      }
      const queued = this.insertRequests(r.crawlId, r.links);
      this.bump(r.crawlId, { items: r.items.length - itemsBefore });
      this.s.bumpValidation.run(1, -1, 1, 1, itemsBefore, r.crawlId);
      return { itemsBefore, itemsAfter: r.items.length, queued };
    });
  }

  withdrawPage(crawlId: string, key: string): Promise<{ itemsRemoved: number; queued: QueuedEntry } | undefined> {
    return this.commits.run(() => {
      const row = this.reopen.get(this.takeSeq(crawlId), crawlId, key) as QueuedArray | undefined;
      if (!row) return undefined;
      this.feed.withdrawPageItems(crawlId, key);
      const itemsRemoved = Number(this.deletePageItems.run(crawlId, key).changes);
      this.bump(crawlId, { done: -1, items: -itemsRemoved });
      this.s.bumpValidation.run(0, -1, 1, 0, itemsRemoved, crawlId);
      return { itemsRemoved, queued: queuedEntry(row) };
    });
  }

  endRequest(crawlId: string, key: string, state: 'failed' | 'skipped', e: EndedRequest): Promise<boolean> {
    return this.commits.run(() => {
      const changes = this.s.markEnded.run(
        STATE_CODES[state], e.attempts, e.code, e.message.slice(0, 1000), e.httpStatus ?? null, e.finalUrl ?? null, e.at, crawlId, key,
      ).changes;
      if (Number(changes) !== 1) return false;
      this.bump(crawlId, state === 'failed' ? { failed: 1 } : { skipped: 1 });
      return true;
    });
  }

  requeue(crawlId: string, key: string, r: { attempts: number; notBefore: number; code: string; message: string }): Promise<QueuedEntry | undefined> {
    return this.commits.run(() => {
      const seq = this.takeSeq(crawlId);
      const row = this.s.requeue.get(r.attempts, r.notBefore, seq, r.code, r.message.slice(0, 1000), crawlId, key) as QueuedArray | undefined;
      return row ? queuedEntry(row) : undefined;
    });
  }

  // Start sources

  async countPendingSources(crawlId: string): Promise<number> {
    return Number((this.s.countPendingSources.get(crawlId) as { n: number }).n);
  }

  async nextPendingSource(crawlId: string): Promise<SourceRow | undefined> {
    const row = this.s.nextPendingSource.get(crawlId);
    return row ? sourceRow(row) : undefined;
  }

  async listSources(crawlId: string): Promise<SourceRow[]> { return this.s.listSources.all(crawlId).map(sourceRow); }

  async sumSourceUrls(crawlId: string): Promise<number> {
    return Number((this.s.sumSourceUrls.get(crawlId) as { n: number }).n);
  }

  retrySource(crawlId: string, url: string, r: { attempts: number; notBefore: number; code: string; message: string }): Promise<void> {
    return this.commits.run(() => {
      this.s.retrySource.run(r.attempts, r.notBefore, r.code, r.message.slice(0, 1000), crawlId, url);
    });
  }

  failSource(crawlId: string, url: string, e: { attempts: number; code: string; message: string; at: number }): Promise<void> {
    return this.commits.run(() => {
      this.s.endSource.run(SOURCE_STATE_CODES.failed, e.attempts, 0, e.code, e.message.slice(0, 1000), e.at, crawlId, url);
    });
  }

  completeSource(
    crawlId: string,
    url: string,
    c: { attempts: number; at: number; sources: readonly NewSource[]; urls: readonly NewRequest[]; budget: number },
  ): Promise<{ queued: QueuedEntry[] }> {
    return this.commits.run(() => {
      this.insertSources(crawlId, c.sources);
      const queued = this.insertRequests(crawlId, c.urls, Math.max(0, c.budget));
      this.s.endSource.run(SOURCE_STATE_CODES.done, c.attempts, queued.length, null, null, c.at, crawlId, url);
      return { queued };
    });
  }

  // Reads

  async getRequest(crawlId: string, key: string): Promise<RequestRow | undefined> {
    const row = this.s.getRequest.get(crawlId, key);
    return row ? requestRow(row) : undefined;
  }

  async countByState(crawlId: string): Promise<Record<RequestState, number>> {
    const out: Record<RequestState, number> = { queued: 0, done: 0, failed: 0, skipped: 0 };
    for (const row of this.s.countByState.all(crawlId) as { state: number; n: number }[]) {
      for (const name of Object.keys(STATE_CODES) as RequestState[]) if (STATE_CODES[name] === row.state) out[name] = Number(row.n);
    }
    return out;
  }

  async requestsByState(crawlId: string, state: RequestState, limit: number, offset: number): Promise<RequestRow[]> {
    return this.s.requestsByState.all(crawlId, STATE_CODES[state], limit, offset).map(requestRow);
  }

  async errorSummary(crawlId: string): Promise<ErrorSummaryRow[]> {
    const rows = this.s.errorSummary.all(crawlId) as { code: string | null; host: string; n: number; example: string }[];
    return rows.map((r) => ({ code: r.code, host: r.host, count: Number(r.n), exampleUrl: r.example }));
  }

  async errorGroups(crawlId: string, limit = 200): Promise<AdminErrorGroup[]> {
    const rows = this.s.errorGroups.all(crawlId, limit) as { code: string; host: string; n: number; url: string; message: string | null }[];
    return rows.map((r) => ({ code: r.code, host: r.host, count: Number(r.n), exampleUrl: r.url, exampleMessage: r.message }));
  }

  async countItems(crawlId: string): Promise<number> {
    return Number((this.s.countItems.get(crawlId) as { n: number }).n);
  }

  async *iterateItems(crawlId: string, batch = 1000, after = 0): AsyncGenerator<StoredItem> {
    for (;;) {
      const rows = this.s.iterateItems.all(crawlId, after, batch);
      if (rows.length === 0) return;
      for (const row of rows) yield storedItem(row);
      after = Number((rows[rows.length - 1] as { id: number }).id);
    }
  }

  async itemFeed(crawlId: string, after: number, limit: number): Promise<FeedEntry[]> {
    return this.feed.entries(crawlId, after, limit);
  }

  async searchItems(crawlId: string, text: string, after: number, limit: number): Promise<StoredItem[]> {
    return this.s.searchItems.all(crawlId, after, text, text, limit).map(storedItem);
  }

  // Metrics

  observeCommits(observer: CommitObserver | undefined): void {
    this.commits.observer = observer;
  }

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
    this.kept.clear(); // whatever it deletes is not written lately any more
    return this.trust.pruneBodies(before);
  }

  // The fleet (fleet-store.ts): a SQLite hub is a fleet of one

  registerHub(hub: HubRow): Promise<void> { return this.fleet.registerHub(hub); }
  heartbeat(id: string, beat: HubHeartbeat): Promise<boolean> { return this.fleet.heartbeat(id, beat); }
  reclaimDeadHubs(before: number, forgetBefore: number): Promise<{ hubs: string[]; rows: number }> { return this.fleet.reclaimDeadHubs(before, forgetBefore); }
  leaveFleet(id: string, at: number): Promise<void> { return this.fleet.leaveFleet(id, at); }
  listHubs(): Promise<HubRow[]> { return this.fleet.listHubs(); }
  readonly sharesHosts = false; // a fleet of one: every host is its own, robots.txt cached in memory only, no other hub's leases
  holdHost(_crawlId: string, _host: string): Promise<HostHold> { return Promise.resolve({ held: true, notBefore: 0 }); }
  releaseHosts(_crawlId: string, _hosts: readonly HostRelease[]): Promise<void> { return Promise.resolve(); }
  getRobots(_origin: string): Promise<StoredRobots | undefined> { return Promise.resolve(undefined); } putRobots(_row: StoredRobots): Promise<void> { return Promise.resolve(); }
  shareAddressLeases(_hubId: string, _counts: Readonly<Record<string, number>>): Promise<Record<string, number>> { return Promise.resolve({}); }

  // The board's contributors (contributor-store.ts)

  contributor(id: string): Promise<ContributorRow | undefined> { return this.contributors.contributor(id); }
  topContributors(limit: number): Promise<ContributorRow[]> { return this.contributors.topContributors(limit); }
  contributorTotals(): Promise<ContributorTotals> { return this.contributors.contributorTotals(); }
  addToContributors(increments: readonly ContributorRow[]): Promise<void> { return this.contributors.addToContributors(increments); }

  // The console's library of specs (spec-library.ts)

  listSpecs(): Promise<SavedSpecRow[]> { return this.specs.listSpecs(); }
  getSpec(id: string): Promise<SavedSpecRow | undefined> { return this.specs.getSpec(id); }
  specNameTaken(name: string): Promise<boolean> { return this.specs.specNameTaken(name); }
  insertSpec(row: SavedSpecRow): Promise<SavedSpecRow> { return this.specs.insertSpec(row); }
  updateSpec(id: string, change: { name: string; spec: string; updatedAt: number }): Promise<SavedSpecRow | undefined> { return this.specs.updateSpec(id, change); }
  deleteSpec(id: string): Promise<boolean> { return this.specs.deleteSpec(id); }

  // A running crawl's spec versions (spec-versions.ts)

  addSpecVersion(crawlId: string, v: { version: number; spec: string; at: number }): Promise<void> { return this.versions.addSpecVersion(crawlId, v); }
  listSpecVersions(crawlId: string): Promise<SpecVersionRow[]> { return this.versions.listSpecVersions(crawlId); }
  scanQueued(crawlId: string, afterKey: string, limit: number): Promise<QueuedUrl[]> { return this.versions.scanQueued(crawlId, afterKey, limit); }
  dropQueued(crawlId: string, version: number, keys: readonly string[], e: { code: string; message: string; at: number }): Promise<number> {
    return this.versions.dropQueued(crawlId, version, keys, e);
  }
  itemsByVersion(crawlId: string): Promise<{ specVersion: number; items: number }[]> { return this.versions.itemsByVersion(crawlId); }
}
