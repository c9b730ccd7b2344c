// The hub's metrics for Prometheus (GET /metrics, prom-client's text format).
// Counting costs nothing on the hot path that was not already spent there:
// counters are incremented by listeners on events the hub emits anyway (a
// crawl's counters changing after a commit, the relay's fetch, the group
// commit), and everything that is a state (leases in flight, workers, queue
// depths, bans) is a gauge read from memory only when Prometheus scrapes.
//
// Counters count since the hub started, as Prometheus expects (it handles the
// reset at a restart); the crawl's own durable figures are in the admin API.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { WORKER_KINDS } from '../../shared/protocol.ts';
import type { Engine } from '../engine/engine.ts';
import type { Crawl, CountDelta } from '../crawl/crawl.ts';
import type { Storage } from '../storage/storage.ts';
import type { ErrorCode } from '../../shared/errors.ts';

const CRAWL_STATUSES = ['created', 'running', 'paused', 'finished', 'cancelled', 'failed'] as const;

/** Sets `gauge{label=key}` to how often each key occurs in `values`, every key of `keys` included (0 when absent). */
function setCounts(gauge: Gauge<string>, label: string, keys: readonly string[], values: readonly string[]): void {
  const counts = new Map<string, number>(keys.map((key) => [key, 0]));
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  for (const [key, n] of counts) gauge.set({ [label]: key }, n);
}

export class HubMetrics {
  readonly registry = new Registry();
  private readonly detach: (() => void)[] = [];

  constructor(engine: Engine, storage: Storage) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });

    const pages = new Counter({
      name: 'crowdcrawl_pages_total',
      help: 'Pages by outcome since the hub started: done (recorded), failed (for good), skipped (robots.txt, limits), retried (a failed attempt that will be tried again).',
      labelNames: ['outcome'] as const,
      registers,
    });
    const items = new Counter({ name: 'crowdcrawl_items_total', help: 'Items stored since the hub started.', registers });
    const itemsWithdrawn = new Counter({
      name: 'crowdcrawl_items_withdrawn_total',
      help: 'Items removed since the hub started: results of a caught cheater, replaced or withdrawn.',
      registers,
    });
    const validation = new Counter({
      name: 'crowdcrawl_validation_results_total',
      help: 'Results by how validation took them since the hub started: checked (against a second opinion), trusted (unchecked), rejected (wrong).',
      labelNames: ['how'] as const,
      registers,
    });
    const extraExtractions = new Counter({
      name: 'crowdcrawl_validation_extra_extractions_total',
      help: "Pages the hub extracted itself to decide a check or clean up after a cheater, since it started.",
      registers,
    });
    // Bare label values are fixed: every series exists from the first scrape.
    for (const outcome of ['done', 'failed', 'skipped', 'retried']) pages.inc({ outcome }, 0);
    for (const how of ['checked', 'trusted', 'rejected']) validation.inc({ how }, 0);

    const onCount = (_crawl: Crawl, d: CountDelta): void => {
      // Only increases count: a negative delta undoes an earlier figure (a withdrawn page), counted as a withdrawal.
      if ((d.done ?? 0) > 0) pages.inc({ outcome: 'done' }, d.done);
      if ((d.failed ?? 0) > 0) pages.inc({ outcome: 'failed' }, d.failed);
      if ((d.skipped ?? 0) > 0) pages.inc({ outcome: 'skipped' }, d.skipped);
      // A replaced page's delta is (after - before) items with `before` withdrawn: it stored `after`.
      const added = (d.items ?? 0) + (d.itemsWithdrawn ?? 0);
      if (added > 0) items.inc(added);
      if ((d.itemsWithdrawn ?? 0) > 0) itemsWithdrawn.inc(d.itemsWithdrawn);
      if ((d.checked ?? 0) > 0) validation.inc({ how: 'checked' }, d.checked);
      if ((d.trusted ?? 0) > 0) validation.inc({ how: 'trusted' }, d.trusted);
      if ((d.rejected ?? 0) > 0) validation.inc({ how: 'rejected' }, d.rejected);
      if ((d.extraExtractions ?? 0) > 0) extraExtractions.inc(d.extraExtractions);
    };
    const onPageFailed = (_crawl: Crawl, _code: ErrorCode, final: boolean): void => {
      if (!final) pages.inc({ outcome: 'retried' });
    };
    engine.crawls.on('count', onCount);
    engine.on('pageFailed', onPageFailed);

    const relay = new Histogram({
      name: 'crowdcrawl_relay_fetch_seconds',
      help: "How long the relay took to fetch a lease's page from its site, by outcome (ok, error).",
      labelNames: ['outcome'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    const onRelay = (outcome: 'ok' | 'error', elapsedMs: number): void => relay.observe({ outcome }, elapsedMs / 1000);
    engine.on('relayFetch', onRelay);

    const commits = new Histogram({
      name: 'crowdcrawl_storage_commit_seconds',
      help: 'How long each storage transaction that made writes durable took (one group commit holds many writes).',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    const commitWrites = new Counter({ name: 'crowdcrawl_storage_writes_total', help: 'Writes committed to storage.', registers });
    storage.observeCommits((seconds, writes) => {
      commits.observe(seconds);
      commitWrites.inc(writes);
    });

    new Gauge({
      name: 'crowdcrawl_leases_in_flight',
      help: 'Leases held by workers now.',
      registers,
      collect() {
        this.set(engine.leasesInFlight);
      },
    });
    new Gauge({
      name: 'crowdcrawl_workers',
      help: 'Connected workers by kind.',
      labelNames: ['kind'] as const,
      registers,
      collect() {
        setCounts(this, 'kind', WORKER_KINDS, Array.from(engine.workers.all(), (w) => w.kind));
      },
    });
    new Gauge({
      name: 'crowdcrawl_crawls',
      help: 'Crawls by status.',
      labelNames: ['status'] as const,
      registers,
      collect() {
        setCounts(this, 'status', CRAWL_STATUSES, engine.crawls.list().map((c) => c.status));
      },
    });
    // Per crawl, only for running and paused crawls: finished ones leave the scrape (no unbounded label sets).
    const perActiveCrawl = (name: string, help: string, value: (crawl: Crawl) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['crawl'] as const,
        registers,
        collect() {
          this.reset();
          for (const crawl of engine.crawls.list()) if (crawl.isActive) this.set({ crawl: crawl.id }, value(crawl));
        },
      });
    };
    perActiveCrawl('crowdcrawl_queue_depth', 'URLs queued (not leased) per running or paused crawl.', (c) => c.frontier.queued);
    perActiveCrawl('crowdcrawl_crawl_in_flight', 'Pages leased or waiting for a second opinion, per running or paused crawl.', (c) => c.frontier.inFlight);
    perActiveCrawl('crowdcrawl_validation_pending_checks', 'Results held back for a second opinion, per running or paused crawl.', (c) => c.pendingChecks);
    new Gauge({
      name: 'crowdcrawl_bans',
      help: 'Bans in force, by kind (client: a browser; address).',
      labelNames: ['kind'] as const,
      registers,
      collect() {
        setCounts(this, 'kind', ['client', 'address'], engine.trust.bans.list().map((b) => b.kind));
      },
    });

    this.detach.push(
      () => engine.crawls.off('count', onCount),
      () => engine.off('pageFailed', onPageFailed),
      () => engine.off('relayFetch', onRelay),
      () => storage.observeCommits(undefined),
    );
  }

  /** The scrape: every metric in Prometheus's text format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  close(): void {
    for (const detach of this.detach.splice(0)) detach();
    this.registry.clear();
  }
}
