// The relay's prefetch: as soon as a lease is granted, the hub starts fetching
// its page, so the worker's relay request finds the body ready or in flight
// instead of waiting for the site. It costs the site nothing extra: a lease is
// granted only when politeness allows its fetch, and the page is fetched once
// either way (server/engine/lease-fetch.ts). The body is kept with the lease and
// dropped when the lease ends (giveBack, or its result committed).
import type { Lease } from '../../shared/protocol.ts';
import type { PageFetcher } from '../relay/fetch-page.ts';
import { FailedFetches, fetchOnce, type LeaseFetchSink } from './lease-fetch.ts';
import type { LeaseRecord } from '../lease/leases.ts';

export class Prefetcher {
  /** Prefetches that failed (and so ended their lease): the worker's relay request is told why. */
  readonly failed = new FailedFetches();
  /** Prefetches in flight, per worker. */
  private readonly inFlight = new Map<string, number>();
  private readonly sink: LeaseFetchSink;
  private readonly fetcher: PageFetcher | undefined;
  private readonly perWorker: number;
  private readonly lease: (id: string) => LeaseRecord | undefined;

  /** `perWorker`: at most this many prefetches in flight per worker (the relay's maxConcurrentPerWorker); 0 turns prefetch off. */
  constructor(sink: LeaseFetchSink, fetcher: PageFetcher | undefined, perWorker: number, lease: (id: string) => LeaseRecord | undefined) {
    this.sink = sink;
    this.fetcher = fetcher;
    this.perWorker = perWorker;
    this.lease = lease;
  }

  /** Starts the fetch of each new lease's page, within the worker's share. */
  granted(workerId: string, leases: readonly Lease[]): void {
    const fetcher = this.fetcher;
    if (!fetcher || this.perWorker <= 0) return;
    for (const lease of leases) {
      const inFlight = this.inFlight.get(workerId) ?? 0;
      if (inFlight >= this.perWorker) return;
      const record = this.lease(lease.id);
      // A second opinion is served the body kept for its check: nothing to fetch.
      if (!record || record.check || record.relay) continue;
      this.inFlight.set(workerId, inFlight + 1);
      // A failure is recorded by the fetch itself (the lease ends); the worker's request then learns why.
      void fetchOnce(this.sink, fetcher, record)
        .catch((error: unknown) => this.failed.add(record, error))
        .finally(() => {
          const left = (this.inFlight.get(workerId) ?? 1) - 1;
          if (left <= 0) this.inFlight.delete(workerId);
          else this.inFlight.set(workerId, left);
        });
    }
  }
}
