// The relay's prefetch: as soon as a lease is granted, the hub starts fetching
// its page, so the worker's relay request finds the body ready or in flight
// instead of waiting for the site. It costs the site nothing extra: a lease is
// granted only when politeness allows its fetch, and the page is fetched once
// either way (server/engine/lease-fetch.ts). The body is kept with the lease and
// dropped when the lease ends (giveBack, or its result committed). A worker
// that takes pushed pages is sent each one when its fetch is done
// (page-push.ts), and leases past the worker's share of fetches in flight wait
// their turn here, so every one of its pages is fetched and pushed.
import type { Lease } from '../../shared/protocol.ts';
import type { PageFetcher } from '../relay/fetch-page.ts';
import { FailedFetches, SharedFetchError, fetchOnce, type LeaseFetchSink } from './lease-fetch.ts';
import type { LeaseRecord } from '../lease/leases.ts';
import type { WorkerSession } from '../lease/workers.ts';
import { PagePusher, type PagePushOptions } from './page-push.ts';

export type { PagePushOptions } from './page-push.ts';

export class Prefetcher {
  /** Prefetches that failed (and so ended their lease): the worker's relay request is told why. */
  readonly failed = new FailedFetches();
  /** Pushes fetched pages to the workers that take them; undefined when pushing is off. */
  readonly pusher: PagePusher | undefined;
  /** Prefetches in flight, per worker. */
  private readonly inFlight = new Map<string, number>();
  /**
   * Leases waiting for one of their worker's fetches to end (it had perWorker in flight). Each fetch that ends
   * starts the next that still stands, so a worker that left leaves nothing here for long.
   */
  private readonly waiting = new Map<string, { worker: WorkerSession; record: LeaseRecord }[]>();
  private readonly sink: LeaseFetchSink;
  private readonly fetcher: PageFetcher | undefined;
  private readonly perWorker: number;
  private readonly lease: (id: string) => LeaseRecord | undefined;

  /**
   * `perWorker`: at most this many prefetches in flight per worker (the relay's maxConcurrentPerWorker); 0 turns prefetch off.
   * `push`: push fetched pages to workers that take them (needs prefetch).
   */
  constructor(sink: LeaseFetchSink, fetcher: PageFetcher | undefined, perWorker: number, lease: (id: string) => LeaseRecord | undefined, push?: PagePushOptions) {
    this.sink = sink;
    this.fetcher = fetcher;
    this.perWorker = perWorker;
    this.lease = lease;
    this.pusher = push && fetcher && perWorker > 0 ? new PagePusher(push, (record) => lease(record.id) === record) : undefined;
  }

  /** Starts the fetch of each new lease's page, within the worker's share (the rest wait their turn). */
  granted(worker: WorkerSession, leases: readonly Lease[]): void {
    if (!this.fetcher || this.perWorker <= 0) return;
    for (const lease of leases) {
      const record = this.lease(lease.id);
      if (!record) continue;
      // A second opinion is served the body kept for its check: nothing to fetch, it can be pushed at once.
      if (record.check) {
        this.pusher?.ready(worker, record, record.check.served);
        continue;
      }
      if (record.relay) continue;
      if ((this.inFlight.get(worker.id) ?? 0) < this.perWorker) this.start(worker, record);
      else {
        let queue = this.waiting.get(worker.id);
        if (!queue) this.waiting.set(worker.id, (queue = []));
        queue.push({ worker, record });
      }
    }
  }

  private start(worker: WorkerSession, record: LeaseRecord): void {
    this.inFlight.set(worker.id, (this.inFlight.get(worker.id) ?? 0) + 1);
    // A failure is recorded by the fetch itself (the lease ends); the worker's request, or a push, then says why.
    void fetchOnce(this.sink, this.fetcher!, record)
      .then(
        (served) => this.pusher?.ready(worker, record, served),
        (error: unknown) => {
          this.failed.add(record, error);
          // A lease given back meanwhile (revoked, its worker gone) dropped its fetch: nothing to tell.
          if (error instanceof SharedFetchError && record.relay !== undefined) this.pusher?.failed(worker, record, error.refusal);
        },
      )
      .finally(() => {
        const left = (this.inFlight.get(worker.id) ?? 1) - 1;
        if (left <= 0) this.inFlight.delete(worker.id);
        else this.inFlight.set(worker.id, left);
        this.next(worker.id);
      });
  }

  /** Starts the worker's next waiting lease that still stands and has no fetch yet. */
  private next(workerId: string): void {
    const queue = this.waiting.get(workerId);
    while (queue && queue.length > 0 && (this.inFlight.get(workerId) ?? 0) < this.perWorker) {
      const { worker, record } = queue.shift()!;
      if (this.lease(record.id) === record && !record.relay) this.start(worker, record);
    }
    if (queue?.length === 0) this.waiting.delete(workerId);
  }
}
