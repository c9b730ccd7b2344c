// "Crawls changed" across the fleet (docs/scale-out.md, "A crawl across the
// fleet"): when a crawl's status changes on this hub (started, paused,
// resumed, cancelled, finished), once the change is stored, the other hubs are
// told on crowdcrawl_crawls, so their crawl sync reads the crawl rows now
// instead of at its next poll. The notice only wakes: the rows are the truth,
// and a hub that missed notices (its bus reconnected) is told to look anyway.
import type { CrawlStatus } from '../../shared/admin-api.ts';
import { FLEET_CHANNELS, type FleetBus } from '../storage/fleet-bus.ts';
import type { Engine } from '../engine/engine.ts';
import type { Crawl } from '../crawl/crawl.ts';

/** A crawl whose status changed on another hub; undefined when notices may have been missed (look at every crawl). */
export type CrawlNotice = { crawlId: string; status: CrawlStatus } | undefined;

export class CrawlNotices {
  private readonly handlers = new Set<(notice: CrawlNotice) => void>();
  private readonly detach: () => void;

  constructor(bus: FleetBus, engine: Engine) {
    const onStatus = (crawl: Crawl) => {
      const status = crawl.status;
      // Told once stored: a hub woken by it reads the row as changed.
      void engine.crawls.settled(crawl).then(() => bus.publish(FLEET_CHANNELS.crawls, JSON.stringify({ crawlId: crawl.id, status })));
    };
    engine.on('crawlStatus', onStatus);
    const unsubscribe = bus.subscribe(FLEET_CHANNELS.crawls, {
      message: (_from, payload) => this.tell(parse(payload)),
      reload: () => this.tell(undefined),
      resync: () => this.tell(undefined),
    });
    this.detach = () => {
      engine.off('crawlStatus', onStatus);
      unsubscribe();
    };
  }

  /** Calls `handler` on every crawl change another hub tells (the engine's crawl sync kicks); returns the function that stops. */
  onChanged(handler: (notice: CrawlNotice) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  close(): void {
    this.detach();
    this.handlers.clear();
  }

  private tell(notice: CrawlNotice): void {
    for (const handler of [...this.handlers]) handler(notice);
  }
}

const STATUSES = new Set<string>(['created', 'running', 'paused', 'finished', 'cancelled', 'failed'] satisfies CrawlStatus[]);

function parse(payload: string): CrawlNotice {
  try {
    const value = JSON.parse(payload) as { crawlId?: unknown; status?: unknown };
    if (typeof value.crawlId === 'string' && typeof value.status === 'string' && STATUSES.has(value.status)) return { crawlId: value.crawlId, status: value.status as CrawlStatus };
  } catch {
    // Not JSON: a hub of another version; look at every crawl.
  }
  return undefined;
}
