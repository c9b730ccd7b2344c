// One page's check: the served body, the opinions given on it so far, and
// who gave them. A page is in a check from the moment its result needs a
// second opinion until two opinions agree (or the check runs out of time): its
// URL stays in flight in the frontier all along, so its crawl cannot end and
// no other worker fetches it.
import type { Crawl } from '../crawl/crawl.ts';
import type { FrontierEntry } from '../frontier/frontier.ts';
import type { CheckRef, LeaseRecord, ServedPage } from '../lease/leases.ts';
import type { ValidResult } from '../results/check.ts';
import type { ClockTimer } from '../clock.ts';
import type { Contributor } from './trust.ts';
import { hasParserDifferences } from './parser-differences.ts';

/** Which HTML parser an opinion came from: browsers' DOMParser, or parse5 (Node workers and the hub). */
export type Parser = 'dom' | 'cheerio';

export interface Opinion {
  /** The contributor, or undefined for the hub's own extraction. */
  readonly by: Contributor | undefined;
  readonly parser: Parser;
  readonly digest: string;
  readonly result: ValidResult;
}

export class Check implements CheckRef {
  readonly crawl: Crawl;
  readonly entry: FrontierEntry;
  /** The spec version of the lease whose result is judged: every opinion is checked against it. */
  readonly specVersion: number;
  readonly served: ServedPage;
  readonly primary: Contributor;
  /** The body is one the two parsers read differently: only like may judge like. */
  readonly differences: boolean;
  readonly openedAt: number;
  readonly opinions: Opinion[] = [];
  /** Everyone who answered on this page (opinions and refused results): no one is asked twice. */
  readonly seen: Contributor[] = [];
  /** The parser a contributor's opinion must come from, when only like may judge like. */
  readonly wantsParser: Parser | undefined;
  replica: LeaseRecord | undefined;
  hub: 'none' | 'running' | 'done' | 'failed' = 'none';
  /** Results refused on this page, and extractions spent on it beyond the first: the crawl's figures. */
  rejected = 0;
  extractions = 0;
  waitTimer: ClockTimer | undefined;
  deadline: ClockTimer | undefined;

  constructor(record: LeaseRecord, primary: Contributor, primaryParser: Parser, now: number) {
    this.crawl = record.crawl;
    this.entry = record.entry;
    this.specVersion = record.specVersion;
    this.served = record.served!;
    this.primary = primary;
    this.openedAt = now;
    this.differences = hasParserDifferences(this.served.payload.toString('utf8'));
    this.wantsParser = this.differences && primaryParser === 'dom' ? 'dom' : undefined;
    this.seen.push(primary);
  }

  get fetched() {
    return this.served.fetched;
  }

  get bytes(): number {
    return this.served.payload.length;
  }

  contributorOpinions(): Opinion[] {
    return this.opinions.filter((o) => o.by !== undefined);
  }

  /** Whether this contributor may give an opinion here: distinct by browser and by address from all before. */
  mayAsk(c: Contributor, parser: Parser): boolean {
    if (this.wantsParser !== undefined && parser !== this.wantsParser) return false;
    return !this.seen.some((s) => s.clientId === c.clientId || s.address === c.address);
  }

  /**
   * The opinion the page is recorded with, once there is one: the hub's own,
   * where its parser reads the body as every opinion's did; else two that agree
   * (of the same parser, where the parsers differ on this body).
   */
  decide(): Opinion | undefined {
    const hub = this.opinions.find((o) => o.by === undefined);
    const others = this.contributorOpinions();
    if (hub && (!this.differences || others.every((o) => o.parser === 'cheerio'))) return hub;
    for (let i = 0; i < this.opinions.length; i++) {
      for (let j = i + 1; j < this.opinions.length; j++) {
        const a = this.opinions[i]!;
        const b = this.opinions[j]!;
        if (a.digest === b.digest && (!this.differences || a.parser === b.parser)) return a;
      }
    }
    return undefined;
  }
}
