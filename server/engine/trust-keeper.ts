// The engine's side of validation (server/validate/): it builds the
// validator, turns its decisions into records (results/), strikes into bans,
// and a ban into a clean-up: the cheater's sessions are closed and every
// result of theirs accepted on trust is re-checked against the bytes it was
// made from (kept compressed, by content hash, for bodyRetentionMs); what fails
// is replaced by the hub's own extraction, or, when the body is gone, removed
// and its page crawled again.
import { createHash, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { constants as zlib, zstdCompressSync, zstdDecompress } from 'node:zlib';
import { ErrorCode } from '../../shared/errors.ts';
import type { BanKind, BanRow, Storage, TrustedPage, WorkerTokenRow } from '../storage/storage.ts';
import type { CrawlRegistry } from '../crawl/registry.ts';
import type { LeaseRecord } from '../lease/leases.ts';
import type { WorkerRegistry, WorkerSession } from '../lease/workers.ts';
import type { Believed, Results } from '../results/results.ts';
import { checkResult, linksToQueue, type ValidResult } from '../results/check.ts';
import { Validator, isRefusal, parserOf, type Check, type Opinion, type ValidationSettings } from '../validate/validator.ts';
import type { Reply, ResultPayload } from '../../shared/protocol.ts';
import type { ContributorTrust, TrustList } from '../../shared/admin-api.ts';
import { HubExtractor } from '../validate/hub-extract.ts';
import { TrustBook, addressKey, clientKey, type Contributor } from '../validate/trust.ts';
import { resultDigest } from '../validate/digest.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { Bans } from './bans.ts';
import { bodyPruneCutoff } from '../storage/kept-bodies.ts';

/**
 * Bodies kept for re-checks: zstd at level 1, its tables sized to the page.
 * Synchronous on purpose: measured on the docs fixture (30 KB pages) this is
 * about 0.3 ms a page, where the promisified stream form cost 3 ms of the
 * main thread's time in stream machinery (bench/validation.bench.ts).
 */
function compress(body: Buffer): Buffer {
  return zstdCompressSync(body, { params: { [zlib.ZSTD_c_compressionLevel]: 1 }, pledgedSrcSize: body.length });
}
const decompress = promisify(zstdDecompress);

export interface TrustKeeperOptions extends ValidationSettings {
  /** How long the bodies of results accepted on trust are kept for re-checks. */
  bodyRetentionMs: number;
}

export interface TrustKeeperDeps {
  storage: Storage;
  crawls: CrawlRegistry;
  workers: WorkerRegistry;
  results: Results;
  clock: Clock;
  log: Logger;
  random?: () => number;
  /** New work or a wanted second opinion: time for a dispatch round. */
  kick(): void;
  /** Take a second-opinion lease back from its worker. */
  revoke(record: LeaseRecord): void;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');

export function contributorOf(worker: WorkerSession): Contributor {
  return { workerId: worker.id, clientId: worker.clientId, address: worker.address, name: worker.name, operatorTrusted: worker.operatorTrusted };
}

export class TrustKeeper {
  readonly validator: Validator;
  readonly trust: TrustBook;
  readonly bans: Bans;
  private readonly deps: TrustKeeperDeps;
  private readonly options: TrustKeeperOptions;
  private readonly hub = new HubExtractor();
  private readonly tokens = new Map<string, WorkerTokenRow>();
  private lastPruneAt = 0;
  /** Re-checks in progress, so a test or the console can wait for them. */
  recheck: Promise<void> = Promise.resolve();

  constructor(options: TrustKeeperOptions, deps: TrustKeeperDeps) {
    this.options = options;
    this.deps = deps;
    this.bans = new Bans(deps.storage);
    this.trust = new TrustBook(options, deps.random);
    this.validator = new Validator(options, this.trust, this.hub, deps.clock, {
      decided: (check, agreed, by) => void this.decided(check, agreed, by),
      struck: (c, reason, ban) => this.struck(c, reason, ban),
      undecided: (check) => {
        deps.log.warn({ url: check.entry.url }, 'a check found no agreement in time; the page goes back to the frontier');
        deps.results.giveBack({ crawl: check.crawl, entry: check.entry, fetched: check.served.fetched, specVersion: check.specVersion, id: 'check', workerId: check.primary.workerId });
      },
      wantsReplica: () => deps.kick(),
      judged: (primary) => {
        const worker = deps.workers.get(primary.workerId);
        if (worker) deps.workers.markHungry(worker);
        deps.kick();
      },
      revoke: (record) => deps.revoke(record),
      candidates: function* () {
        for (const worker of deps.workers.all()) if (worker.capacity > 0) yield { contributor: contributorOf(worker), parser: parserOf(worker.kind) };
      },
      onError: (error, what) => deps.log.error({ err: error }, `${what} failed`),
    });
  }

  async load(): Promise<void> {
    await this.bans.load();
    this.trust.load(await this.deps.storage.listTrust());
    for (const row of await this.deps.storage.listWorkerTokens()) this.tokens.set(row.tokenHash, row);
  }

  close(): void {
    this.validator.close();
    void this.flush();
  }

  /** Every contributor's record, for the console (GET /api/trust), most recently seen first. */
  view(): TrustList {
    const contributors: ContributorTrust[] = [];
    for (const row of this.trust.all()) {
      const [kind, ...rest] = row.key.split(':');
      contributors.push({
        kind: kind === 'address' ? 'address' : 'client',
        value: rest.join(':'),
        label: row.label,
        checked: row.checked,
        valid: row.valid,
        invalid: row.invalid,
        trusted: row.trusted,
        strikes: row.strikes,
        consecutiveValid: row.consecutiveValid,
        state: row.banned ? 'banned' : row.consecutiveValid < this.options.probationResults ? 'probation' : 'trusted',
        checkRate: this.trust.checkRate(row),
        lastReason: row.lastReason,
        updatedAt: row.updatedAt,
      });
    }
    contributors.sort((a, b) => b.updatedAt - a.updatedAt);
    const { probationResults, minCheckRate, strikesToBan } = this.options;
    return { contributors, settings: { probationResults, minCheckRate, strikesToBan } };
  }

  // Worker tokens: an operator's edge workers, trusted without checks.

  /** Whether a token from a handshake is one the operator issued (and not revoked). */
  tokenValid(token: string): boolean {
    return this.tokens.has(sha256(token));
  }

  tokenId(token: string): string | null {
    return this.tokens.get(sha256(token))?.id ?? null;
  }

  async issueToken(name: string): Promise<{ row: WorkerTokenRow; token: string }> {
    const token = `cct_${randomBytes(24).toString('base64url')}`;
    const row: WorkerTokenRow = { id: randomBytes(6).toString('base64url'), name, tokenHash: sha256(token), createdAt: this.deps.clock.now() };
    await this.deps.storage.insertWorkerToken(row);
    this.tokens.set(row.tokenHash, row);
    return { row, token };
  }

  listTokens(): WorkerTokenRow[] {
    return [...this.tokens.values()].sort((a, b) => b.createdAt - a.createdAt);
  }

  /** Revokes a token; the workers connected with it are disconnected (they may come back as ordinary contributors). */
  async revokeToken(id: string): Promise<boolean> {
    const row = [...this.tokens.values()].find((t) => t.id === id);
    if (!row || !(await this.deps.storage.deleteWorkerToken(id))) return false;
    this.tokens.delete(row.tokenHash);
    for (const worker of [...this.deps.workers.all()]) if (worker.tokenId === id) worker.disconnect('token revoked');
    return true;
  }

  // Bans

  isBanned(clientId: string, address: string): boolean {
    return this.bans.has(clientId, address);
  }

  /** Bans a browser, an address or both, closes their sessions and re-checks what they got in on trust. */
  async ban(targets: { clientId?: string; address?: string }, reason: string): Promise<number> {
    const now = this.deps.clock.now();
    const added: BanRow[] = [];
    if (targets.clientId) added.push({ kind: 'client', value: targets.clientId, reason, createdAt: now });
    if (targets.address) added.push({ kind: 'address', value: targets.address, reason, createdAt: now });
    for (const row of added) {
      await this.bans.add(row);
      this.trust.markBanned(row.kind === 'client' ? clientKey(row.value) : addressKey(row.value), true, now);
    }
    let closed = 0;
    const clients = new Set<string>(targets.clientId ? [targets.clientId] : []);
    for (const worker of [...this.deps.workers.all()]) {
      if (worker.clientId === targets.clientId || worker.address === targets.address) {
        clients.add(worker.clientId);
        worker.disconnect('banned');
        closed++;
      }
    }
    await this.flush();
    for (const clientId of clients) this.recheck = this.recheck.then(() => this.recheckClient(clientId));
    return closed;
  }

  /**
   * The fleet's heartbeat (server/engine/fleet.ts): bans another hub added or
   * lifted apply here too, and this hub's sessions of a browser or address
   * banned elsewhere are closed (their leases go back). The hub that banned
   * re-checks what they got in on trust (from storage, whichever hub took it).
   */
  async sync(): Promise<void> {
    const added = await this.bans.refresh();
    if (added.length === 0) return;
    const clients = new Set(added.filter((b) => b.kind === 'client').map((b) => b.value));
    const addresses = new Set(added.filter((b) => b.kind === 'address').map((b) => b.value));
    for (const worker of [...this.deps.workers.all()]) {
      if (clients.has(worker.clientId) || addresses.has(worker.address)) worker.disconnect('banned');
    }
  }

  async unban(kind: BanKind, value: string): Promise<boolean> {
    const removed = await this.bans.remove(kind, value);
    if (removed) {
      this.trust.markBanned(kind === 'client' ? clientKey(value) : addressKey(value), false, this.deps.clock.now());
      await this.flush();
    }
    return removed;
  }

  /** Stores changed trust records; and, once an hour, forgets bodies past their retention. */
  async flush(): Promise<void> {
    const changes = this.trust.takeChanges();
    try {
      // Increments: on a shared database the other hubs' counts are added to, never overwritten.
      if (changes.length > 0) {
        try {
          this.trust.stored(await this.deps.storage.updateTrust(changes));
        } catch (error) {
          this.trust.unsaved(changes);
          throw error;
        }
      }
      const now = this.deps.clock.now();
      if (now - this.lastPruneAt >= 3_600_000) {
        this.lastPruneAt = now;
        await this.deps.storage.pruneBodies(bodyPruneCutoff(now, this.options.bodyRetentionMs));
      }
    } catch (error) {
      this.deps.log.error({ err: error }, 'storing trust records failed');
    }
  }

  /**
   * A worker's result for a fetched lease: a second opinion goes to its check;
   * a refused result is a strike (the page is decided without it); a result
   * that needs a check is held back; one accepted on trust comes back to be
   * recorded, with how it was believed and its compressed body.
   */
  async take(
    record: LeaseRecord,
    worker: WorkerSession,
    payload: ResultPayload,
    end: (how: 'done' | 'failed') => void,
  ): Promise<Reply<{ duplicate: boolean; pending?: boolean }> | { record: { result: ValidResult; believed: Believed } }> {
    const contributor = contributorOf(worker);
    const parser = parserOf(worker.kind);
    // An operator's worker is believed: its links are not scanned for in the page either.
    const opinion = this.validator.opinionOf(contributor.operatorTrusted ? { ...record, served: undefined } : record, payload.items, payload.links);
    const refusal = isRefusal(opinion) ? { ok: false as const, error: { code: opinion.code, message: opinion.reason } } : undefined;
    if (record.check) {
      // A second opinion: compared with the others, never recorded as it is.
      end(refusal ? 'failed' : 'done');
      this.validator.answered(record.check as Check, record, contributor, parser, opinion);
      return refusal ?? { ok: true, duplicate: false };
    }
    if (isRefusal(opinion)) {
      end('failed');
      this.validator.refused(record, contributor, parser, opinion);
      return refusal!;
    }
    if (this.trust.needsCheck(contributor)) {
      // Held back: nothing of it reaches the results before a second opinion agrees.
      end('done');
      this.validator.open(record, contributor, parser, opinion);
      return { ok: true, duplicate: false, pending: true };
    }
    record.committing = true;
    this.trust.trusted(contributor, this.deps.clock.now());
    const served = record.served!;
    // Kept to re-check it if its contributor is caught; with no retention (bodyRetentionMs 0) its page is crawled again instead.
    const keep = !contributor.operatorTrusted && this.options.bodyRetentionMs > 0;
    // Compressed only if storage writes it: not when it wrote the same body lately (server/storage/kept-bodies.ts).
    const body = keep ? { contentHash: served.fetched.contentHash, data: () => compress(served.payload) } : undefined;
    const believed: Believed = {
      clientId: contributor.clientId,
      validation: contributor.operatorTrusted ? 'operator' : 'trusted',
      digest: opinion.digest,
      rejected: 0,
      extraExtractions: 0,
      ...(body ? { body } : {}),
    };
    return { record: { result: opinion.result, believed } };
  }

  private struck(c: Contributor, reason: string, ban: boolean): void {
    this.deps.log.warn({ worker: c.name, clientId: c.clientId, address: c.address, reason }, 'a contributor gave a wrong result');
    if (ban) {
      this.deps.log.warn({ worker: c.name, clientId: c.clientId, address: c.address }, 'a contributor reached the strike limit and is banned');
      void this.ban({ clientId: c.clientId, address: c.address }, `${this.options.strikesToBan} wrong results; last: ${reason}`);
    } else void this.flush();
  }

  private async decided(check: Check, agreed: Opinion, by: Contributor | undefined): Promise<void> {
    await this.deps.results.record(
      { crawl: check.crawl, entry: check.entry, fetched: check.served.fetched, specVersion: check.specVersion, id: by ? 'checked' : 'hub', workerId: by?.workerId ?? 'hub' },
      agreed.result,
      {
        clientId: by?.clientId ?? null,
        validation: by ? 'checked' : 'hub',
        digest: agreed.digest,
        rejected: check.rejected,
        extraExtractions: check.extractions,
      },
    );
    void this.flush();
  }

  /** Every result of this browser's accepted on trust, checked again against the bytes it was made from. */
  private async recheckClient(clientId: string): Promise<void> {
    let pages: TrustedPage[];
    try {
      pages = await this.deps.storage.trustedPagesOf(clientId);
    } catch (error) {
      this.deps.log.error({ err: error, clientId }, 'listing a banned contributor\'s results failed');
      return;
    }
    let replaced = 0;
    let withdrawn = 0;
    for (const page of pages) {
      try {
        const outcome = await this.recheckPage(page);
        if (outcome === 'replaced') replaced++;
        if (outcome === 'withdrawn') withdrawn++;
      } catch (error) {
        this.deps.log.error({ err: error, url: page.url }, 're-checking a page failed');
      }
    }
    this.deps.log.info({ clientId, pages: pages.length, replaced, withdrawn }, 're-checked the results a banned contributor got in on trust');
  }

  private async recheckPage(page: TrustedPage): Promise<'valid' | 'replaced' | 'withdrawn'> {
    const crawl = this.deps.crawls.get(page.crawlId);
    if (!crawl) return 'valid';
    const body = await this.deps.storage.getBody(page.contentHash);
    if (!body) {
      const withdrawn = await this.deps.storage.withdrawPage(page.crawlId, page.key);
      if (!withdrawn) return 'valid';
      crawl.count({ done: -1, items: -withdrawn.itemsRemoved, trusted: -1, rejected: 1, itemsWithdrawn: withdrawn.itemsRemoved });
      if (crawl.isActive) {
        crawl.frontier.added([withdrawn.queued]);
        this.deps.kick();
      } else {
        // An ended crawl is not crawled again: the page is recorded as failed, with why.
        const ended = await this.deps.storage.endRequest(page.crawlId, page.key, 'failed', {
          attempts: 0, code: ErrorCode.RESULT_WITHDRAWN, message: 'its contributor was caught cheating and its body was no longer kept', at: this.deps.clock.now(),
        });
        if (ended) crawl.count({ failed: 1 });
      }
      return 'withdrawn';
    }
    const html = (await decompress(body)).toString('utf8');
    // Checked against the version it was extracted with (kept in storage; loaded with the crawl).
    const version = crawl.specFor(page.specVersion);
    if (!version) throw new Error(`spec version ${page.specVersion} of crawl ${crawl.id} is not known`);
    const output = await this.hub.extract(html, version.spec, page.finalUrl, page.depth);
    const digest = resultDigest(output.items, output.links);
    if (digest === page.resultDigest) return 'valid';
    const entry = { key: page.key, url: page.url, host: new URL(page.url).host, depth: page.depth, seq: 0, attempts: 0, notBefore: 0 };
    const fetched = { finalUrl: page.finalUrl, status: page.httpStatus, contentHash: page.contentHash, contentType: 'text/html', fetchedAt: 0 };
    const checked = checkResult({ crawl, entry, fetched, specVersion: page.specVersion }, output.items, output.links);
    if (typeof checked === 'string') throw new Error(`the hub's extraction does not fit the spec: ${checked}`);
    const stored = await this.deps.storage.replacePage({
      crawlId: page.crawlId, key: page.key, items: checked.items, links: crawl.isActive ? linksToQueue({ crawl, entry, fetched, specVersion: page.specVersion }, checked.links) : [], resultDigest: digest, doneAt: this.deps.clock.now(),
    });
    crawl.count({ items: stored.itemsAfter - stored.itemsBefore, checked: 1, trusted: -1, rejected: 1, extraExtractions: 1, itemsWithdrawn: stored.itemsBefore });
    if (crawl.isActive && stored.queued.length > 0) {
      crawl.frontier.added(stored.queued);
      this.deps.kick();
    }
    return 'replaced';
  }
}
