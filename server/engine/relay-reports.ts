// Where the relay's fetch of a lease's page (lease-fetch.ts, started by the
// prefetch or by the worker's relay request) reports what happened: a fetched
// page is kept with its lease and tells politeness how the host answered; a
// failure slows the host down (AutoThrottle, Retry-After) and ends the lease.
import type { Clock } from '../clock.ts';
import type { LeaseRecord, ServedPage } from '../lease/leases.ts';
import type { HubPoliteness } from '../politeness/gate.ts';
import type { Failure, Results } from '../results/results.ts';
import type { ConditionalFetch, LeaseFetchSink } from './lease-fetch.ts';

export class RelayReports implements LeaseFetchSink {
  /** Re-crawls' conditional fetches (server/ops/ sets it: ops is built on the engine). */
  conditional: ConditionalFetch | undefined;
  private readonly clock: Clock;
  private readonly politeness: () => HubPoliteness;
  private readonly results: Results;
  private readonly isLive: (record: LeaseRecord) => boolean;
  private readonly onFetch: (outcome: 'ok' | 'error', latencyMs: number) => void;

  constructor(o: {
    clock: Clock;
    politeness: () => HubPoliteness;
    results: Results;
    isLive: (record: LeaseRecord) => boolean;
    onFetch: (outcome: 'ok' | 'error', latencyMs: number) => void;
  }) {
    this.clock = o.clock;
    this.politeness = o.politeness;
    this.results = o.results;
    this.isLive = o.isLive;
    this.onFetch = o.onFetch;
  }

  now(): number {
    return this.clock.now();
  }

  /** The page is kept with the lease while it stands; the relay marks it fetched once the worker is served it. */
  relayFetched(record: LeaseRecord, served: ServedPage, latencyMs: number): void {
    this.onFetch('ok', latencyMs);
    this.politeness().fetched(record.crawl, record.entry.host, served.fetched.status, latencyMs);
    if (this.isLive(record)) record.served = served;
  }

  relayFailed(record: LeaseRecord, failure: Failure, latencyMs?: number): void {
    if (latencyMs !== undefined) this.onFetch('error', latencyMs);
    // Before the lease ends: a 429, 503 or timeout slows the whole host down (AutoThrottle, Retry-After).
    this.politeness().failed(record.crawl, record.entry.host, failure.code, failure.httpStatus, failure.retryAfterMs);
    this.results.fail(record, failure);
  }

  /** A second-opinion lease's page: the body kept for its check (the site is not asked again). */
  servedCheck(record: LeaseRecord): ServedPage {
    const served = record.check!.served;
    record.fetched = served.fetched;
    return served;
  }
}
