// Validation: the step between a worker's extraction and the results. The
// relay served the exact bytes and extraction is a pure function of (bytes,
// spec version), so a second opinion costs a parse, never a second fetch: the
// page's body is kept while its check is open, another contributor (distinct
// by browser and address) gets a lease on it that the relay serves from the
// kept body, and the hub runs its own extraction when no contributor takes it
// in time or two opinions disagree. Agreement records the page; whoever was
// wrong gets a strike (trust.ts). Nothing of an open check reaches the results.
import type { Clock } from '../clock.ts';
import type { LeaseRecord } from '../lease/leases.ts';
import { checkResult, type ResultTarget, type ValidResult } from '../results/check.ts';
import type { Crawl } from '../crawl/crawl.ts';
import type { ServedPage } from '../lease/leases.ts';
import { linksNotInBody } from './link-scan.ts';
import { Check, type Opinion, type Parser } from './check.ts';
import { resultDigest } from './digest.ts';
import type { HubExtractor } from './hub-extract.ts';
import type { Contributor, TrustBook, TrustSettings } from './trust.ts';
import type { ExtractedItem } from '../../shared/extract/engine.ts';
import { ErrorCode } from '../../shared/errors.ts';

export { Check, type Opinion, type Parser } from './check.ts';

export interface ValidationSettings extends TrustSettings {
  /** How long a check waits for a contributor's opinion before the hub extracts the page itself. */
  replicaWaitMs: number;
  /** A check still undecided after this gives its page back to the frontier, with no strike. */
  checkTimeoutMs: number;
  /** Bodies kept for open checks; past this, new checks are decided by the hub at once. */
  maxPendingBytes: number;
}

export interface ValidatorEvents {
  /** Two opinions agree (or the hub's decides): record `agreed`, credited to `by` (undefined: the hub). */
  decided(check: Check, agreed: Opinion, by: Contributor | undefined): void;
  /** A contributor's opinion was wrong; `ban` once it has had too many strikes. */
  struck(contributor: Contributor, reason: string, ban: boolean): void;
  /** No decision in time: give the page back to the frontier. */
  undecided(check: Check): void;
  /** A check wants a contributor's opinion: time for a dispatch round. */
  wantsReplica(): void;
  /** A check closed: its primary worker has room for one more page. */
  judged(primary: Contributor): void;
  /** A second-opinion lease is no longer needed: take it back from its worker. */
  revoke(record: LeaseRecord): void;
  /** The connected contributors who could take work now, to tell whether waiting for one makes sense. */
  candidates(): Iterable<{ contributor: Contributor; parser: Parser }>;
  onError(error: unknown, what: string): void;
}

/** A result refused at the door, with the code its worker is answered with. */
export interface Refusal {
  readonly code: typeof ErrorCode.RESULT_INVALID | typeof ErrorCode.RESULT_REFUSED;
  readonly reason: string;
}

/** A contributor's extraction, fingerprinted and checked against the spec. */
export interface Extraction {
  readonly digest: string;
  readonly result: ValidResult;
}

export const isRefusal = (o: Extraction | Refusal): o is Refusal => 'code' in o;

export const parserOf = (kind: string): Parser => (kind === 'node' ? 'cheerio' : 'dom');

export class Validator {
  readonly trust: TrustBook;
  private readonly settings: ValidationSettings;
  private readonly hub: HubExtractor;
  private readonly clock: Clock;
  private readonly events: ValidatorEvents;
  private readonly checks = new Set<Check>();
  /** Checks that want a contributor's opinion, oldest first. */
  private readonly waiting = new Set<Check>();
  private pendingBytes = 0;
  /** Open checks by the worker whose result they judge (see Dispatcher's OpinionSource.unchecked). */
  private readonly unchecked = new Map<string, number>();

  constructor(settings: ValidationSettings, trust: TrustBook, hub: HubExtractor, clock: Clock, events: ValidatorEvents) {
    this.settings = settings;
    this.trust = trust;
    this.hub = hub;
    this.clock = clock;
    this.events = events;
  }

  get size(): number {
    return this.checks.size;
  }

  get wanted(): number {
    return this.waiting.size;
  }

  uncheckedOf(workerId: string): number {
    return this.unchecked.get(workerId) ?? 0;
  }

  /**
   * An extraction of a served page as an opinion: its links must all occur in
   * the body (a scan, every result), its items and links must fit the spec;
   * else the reason it is refused.
   */
  opinionOf(
    target: ResultTarget & { served: ServedPage | undefined },
    items: ExtractedItem[],
    links: readonly string[],
  ): Extraction | Refusal {
    if (target.served) {
      const missing = linksNotInBody(target.served.payload, links);
      if (missing.length > 0) {
        return { code: ErrorCode.RESULT_REFUSED, reason: `${missing.length} reported link(s) do not occur in the page, e.g. ${missing[0]!.slice(0, 200)}` };
      }
    }
    const result = checkResult(target, items, links);
    if (typeof result === 'string') return { code: ErrorCode.RESULT_INVALID, reason: result };
    return { digest: resultDigest(items, links), result };
  }

  /** A primary result refused at the door: a strike, and the page is decided without it (the hub's opinion). */
  refused(record: LeaseRecord, by: Contributor, parser: Parser, refusal: Refusal): Check {
    this.strike(by, refusal.reason);
    const check = this.open(record, by, parser, undefined);
    check.rejected++;
    return check;
  }

  /**
   * Opens a check on a leased page whose result needs one. `opinion` is the
   * primary's, or undefined when its result was refused (it was struck already)
   * or it said it could not process the page.
   */
  open(record: LeaseRecord, primary: Contributor, parser: Parser, opinion: Extraction | undefined): Check {
    const check = new Check(record, primary, parser, this.clock.now());
    if (opinion) check.opinions.push({ by: primary, parser, ...opinion });
    this.checks.add(check);
    this.unchecked.set(primary.workerId, this.uncheckedOf(primary.workerId) + 1);
    check.crawl.pendingChecks++;
    this.pendingBytes += check.bytes;
    check.deadline = this.clock.setTimeout(() => this.giveUp(check), this.settings.checkTimeoutMs);
    if (!opinion || this.pendingBytes > this.settings.maxPendingBytes || this.settings.replicaWaitMs === 0 || !this.someoneMayAsk(check)) {
      this.runHub(check);
    } else {
      this.want(check);
      check.waitTimer = this.clock.setTimeout(() => this.runHub(check), this.settings.replicaWaitMs);
    }
    return check;
  }

  /** A check this worker may give the second opinion on, if any wants one. */
  replicaFor(worker: Contributor, parser: Parser): Check | undefined {
    for (const check of this.waiting) {
      if (check.replica || check.crawl.status !== 'running') continue;
      if (check.mayAsk(worker, parser)) return check;
    }
    return undefined;
  }

  leased(check: Check, record: LeaseRecord): void {
    check.replica = record;
  }

  /** A second opinion came: an extraction, or a refused result (a reason). */
  answered(check: Check, record: LeaseRecord, by: Contributor, parser: Parser, opinion: Extraction | Refusal): void {
    if (check.replica === record) check.replica = undefined;
    if (!this.checks.has(check)) return;
    check.seen.push(by);
    check.extractions++;
    if (isRefusal(opinion)) {
      check.rejected++;
      this.strike(by, opinion.reason);
    } else {
      check.opinions.push({ by, parser, ...opinion });
    }
    this.advance(check);
  }

  /** A second-opinion lease ended without an answer (expired, released, its worker left). */
  dropped(check: Check, record: LeaseRecord): void {
    if (check.replica !== record) return;
    check.replica = undefined;
    if (this.waiting.has(check)) this.events.wantsReplica();
  }

  /** A crawl ended: its open checks are dropped, nobody struck. */
  endCrawl(crawl: Crawl): void {
    for (const check of [...this.checks]) if (check.crawl === crawl) this.close(check);
  }

  close(check?: Check): void {
    if (check) {
      if (!this.checks.delete(check)) return;
      this.waiting.delete(check);
      this.clock.clearTimeout(check.waitTimer);
      this.clock.clearTimeout(check.deadline);
      check.crawl.pendingChecks--;
      this.pendingBytes -= check.bytes;
      const left = this.uncheckedOf(check.primary.workerId) - 1;
      if (left > 0) this.unchecked.set(check.primary.workerId, left);
      else this.unchecked.delete(check.primary.workerId);
      this.events.judged(check.primary);
      if (check.replica) this.events.revoke(check.replica);
      check.replica = undefined;
      return;
    }
    for (const open of [...this.checks]) this.close(open);
    this.hub.close();
  }

  /** Whether a connected contributor could give this check its opinion (else the hub does, at once). */
  private someoneMayAsk(check: Check): boolean {
    for (const { contributor, parser } of this.events.candidates()) if (check.mayAsk(contributor, parser)) return true;
    return false;
  }

  private want(check: Check): void {
    this.waiting.add(check);
    this.events.wantsReplica();
  }

  private runHub(check: Check): void {
    this.clock.clearTimeout(check.waitTimer);
    if (check.hub !== 'none' || !this.checks.has(check)) return;
    check.hub = 'running';
    // The hub's opinion decides on its own unless only a browser may judge this page.
    if (check.wantsParser === undefined) this.waiting.delete(check);
    check.extractions++;
    const { payload, fetched } = check.served;
    this.hub
      .extract(payload.toString('utf8'), check.crawl.specFor(check.specVersion)!.spec, fetched.finalUrl, check.entry.depth)
      .then((output) => {
        if (!this.checks.has(check)) return;
        // The hub's own run is not scanned for links: it is the parse the scan stands in for.
        const opinion = this.opinionOf({ ...check, fetched: check.served.fetched, served: undefined }, output.items, output.links);
        if (isRefusal(opinion)) throw new Error(`the hub's own extraction does not fit the spec: ${opinion.reason}`);
        check.hub = 'done';
        check.opinions.push({ by: undefined, parser: 'cheerio', ...opinion });
        this.advance(check);
      })
      .catch((error: unknown) => {
        check.hub = 'failed';
        this.events.onError(error, `the hub's check of ${check.entry.url}`);
        // Contributors may still decide it; else its deadline gives the page back.
        if (this.checks.has(check)) this.want(check);
      });
  }

  private advance(check: Check): void {
    const agreed = check.decide();
    if (agreed) {
      this.finish(check, agreed);
      return;
    }
    // Two contributors disagree: the hub's opinion is the third.
    if (check.hub === 'none' && check.contributorOpinions().length >= 2) this.runHub(check);
    else if (check.hub !== 'running') this.want(check);
  }

  private finish(check: Check, agreed: Opinion): void {
    this.close(check);
    const now = this.clock.now();
    let credited: Opinion['by'];
    for (const o of check.contributorOpinions()) {
      const by = o.by!;
      if (o.digest === agreed.digest) {
        this.trust.valid(by, now);
        credited ??= by;
      } else if (!check.differences || o.parser === agreed.parser) {
        check.rejected++;
        this.strike(by, `its result for ${check.entry.url} differs from the agreed one over the same bytes`);
      }
      // Else the parsers read this body differently: neither right nor wrong.
    }
    this.events.decided(check, agreed, credited);
  }

  private strike(by: Contributor, reason: string): void {
    const ban = this.trust.invalid(by, this.clock.now(), reason);
    this.events.struck(by, reason, ban);
  }

  private giveUp(check: Check): void {
    if (!this.checks.has(check)) return;
    this.close(check);
    this.events.undecided(check);
  }
}
