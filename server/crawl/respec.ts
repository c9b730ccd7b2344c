// A new spec version for a running crawl. The version is stored first (every
// version is kept), then it becomes the crawl's current one: new leases get
// it and the engine sends it to every connected worker, while leases granted
// before keep theirs (their results are checked against the version they were
// extracted with). Then the queue is sorted out: queued URLs the new rules no
// longer allow are ended as skipped (SPEC_DROPPED) and counted. While that
// runs the crawl grants no lease, so no URL is leased and dropped at once.
import { assertSpec, type Spec } from '../../shared/spec/schema.ts';
import { mayStayQueued } from '../../shared/extract/links.ts';
import { HubError } from '../../shared/errors.ts';
import type { Storage } from '../storage/storage.ts';
import type { Clock } from '../clock.ts';
import type { Crawl } from './crawl.ts';

/** Queued URLs read (and dropped) at a time. */
const SCAN_BATCH = 1000;

export interface Respecced {
  version: number;
  dropped: number;
}

/** The new spec, its version worked out: the next one when the input names none; refused unless above the current one. */
export function nextSpec(crawl: Crawl, input: unknown): Spec {
  const named = typeof input === 'object' && input !== null && !Array.isArray(input) && Object.hasOwn(input, 'version');
  const spec = assertSpec(named ? input : { ...(input as object), version: crawl.specVersion + 1 });
  if (spec.version <= crawl.specVersion) {
    throw new HubError('SPEC_VERSION_STALE', `version ${spec.version} is not above the crawl's current version ${crawl.specVersion}`);
  }
  return spec;
}

/**
 * Stores `spec` as the crawl's new version and makes it current (`onCurrent`
 * is told at once, to send it to the workers), then drops the queued URLs it
 * no longer allows. Versions of one crawl are applied one after another.
 */
export function respec(storage: Storage, clock: Clock, crawl: Crawl, input: unknown, onCurrent: (crawl: Crawl) => void): Promise<Respecced> {
  const run = crawl.specWrites.then(() => apply(storage, clock, crawl, input, onCurrent));
  crawl.specWrites = run.catch(() => {});
  return run;
}

async function apply(storage: Storage, clock: Clock, crawl: Crawl, input: unknown, onCurrent: (crawl: Crawl) => void): Promise<Respecced> {
  if (!crawl.isActive && crawl.status !== 'created') {
    throw new HubError('CRAWL_STATE', `crawl ${crawl.id} has ended (${crawl.status}); its spec can no longer change`);
  }
  const spec = nextSpec(crawl, input);
  crawl.respecing = true;
  try {
    await storage.addSpecVersion(crawl.id, { version: spec.version, spec: JSON.stringify(spec), at: clock.now() });
    crawl.useVersion(spec);
    setHostPolicy(crawl, spec);
    onCurrent(crawl);
    const dropped = await dropDisallowed(storage, clock, crawl, spec);
    crawl.droppedBySpec += dropped;
    crawl.count({ skipped: dropped });
    return { version: spec.version, dropped };
  } finally {
    // Whatever was dropped (or not, if storage failed half-way) is read again from storage.
    if (crawl.isActive) await crawl.frontier.resync().catch(() => {});
    crawl.respecing = false;
  }
}

/**
 * A new version another hub of the fleet stored (server/crawl/sync.ts): it
 * becomes current here too, after this hub's own spec changes; the queue was
 * sorted out by the hub that stored it, so the window is simply read again.
 */
export function followStoredVersion(storage: Storage, crawl: Crawl, onCurrent: (crawl: Crawl) => void): Promise<void> {
  const run = crawl.specWrites.then(async () => {
    const versions = await storage.listSpecVersions(crawl.id);
    const latest = versions[versions.length - 1];
    if (!latest || latest.version <= crawl.specVersion) return;
    crawl.respecing = true;
    try {
      for (const v of versions) if (v !== latest) crawl.keepVersion(assertSpec(JSON.parse(v.spec)));
      const spec = assertSpec(JSON.parse(latest.spec));
      crawl.useVersion(spec);
      crawl.droppedBySpec = versions.reduce((sum, v) => sum + v.dropped, 0);
      setHostPolicy(crawl, spec);
      onCurrent(crawl);
    } finally {
      if (crawl.isActive) await crawl.frontier.resync().catch(() => {});
      crawl.respecing = false;
    }
  });
  crawl.specWrites = run.catch(() => {});
  return run;
}

/** Every queued URL looked at under the new rules, a batch at a time; leased ones are answered under their version. */
async function dropDisallowed(storage: Storage, clock: Clock, crawl: Crawl, spec: Spec): Promise<number> {
  let dropped = 0;
  let after = '';
  for (;;) {
    const rows = await storage.scanQueued(crawl.id, after, SCAN_BATCH);
    if (rows.length === 0) return dropped;
    after = rows[rows.length - 1]!.key;
    const keys = rows.filter((r) => !crawl.frontier.leasedKeys.has(r.key) && !mayStayQueued(spec, r.url, r.depth)).map((r) => r.key);
    if (keys.length > 0) {
      dropped += await storage.dropQueued(crawl.id, spec.version, keys, {
        code: 'SPEC_DROPPED',
        message: `spec version ${spec.version}'s follow rules or maxDepth no longer allow it`,
        at: clock.now(),
      });
    }
  }
}

/** Per-host concurrency and delay of the new version: for hosts to come, and the active ones at once. */
function setHostPolicy(crawl: Crawl, spec: Spec): void {
  const policy = { concurrency: spec.politeness.perHostConcurrency, delayMs: spec.politeness.perHostDelayMs };
  Object.assign(crawl.frontier.policy, policy);
  for (const host of crawl.frontier.hosts.values()) {
    host.concurrency = policy.concurrency;
    host.minDelayMs = Math.max(policy.delayMs, host.crawlDelayMs ?? 0);
    if (host.delayMs < host.minDelayMs || !crawl.throttle.enabled) host.delayMs = host.minDelayMs;
  }
}
