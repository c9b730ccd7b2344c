// Host ownership on PostgreSQL (docs/scale-out.md, "politeness per host"): a
// crawl's host is worked by one hub at a time, the one named in its
// crawl_hosts row. A hub takes the row with one upsert that only succeeds when
// the host is free, already its own, or held by a hub no longer alive; the
// claim of rows (fleet-store.ts) checks the row, so no other hub reads the
// host's queue while it is held. The row is given up when the host leaves the
// holder's memory, and freed with a dead or departed hub's claims.
import type pg from 'pg';
import type { HostHold, HostRelease, StoredRobots } from '../fleet-rows.ts';
import { run, statement } from './group-commit.ts';

export const HOST_STATEMENTS = {
  hold: statement(
    'ho_hold',
    `INSERT INTO crawl_hosts AS h (crawl_id, host, hub_id, not_before)
     SELECT $1, $2, $3, 0 WHERE EXISTS (SELECT 1 FROM hubs WHERE id = $3 AND NOT gone)
     ON CONFLICT (crawl_id, host) DO UPDATE SET hub_id = EXCLUDED.hub_id
     WHERE h.hub_id IS NULL OR h.hub_id = EXCLUDED.hub_id OR h.hub_id NOT IN (SELECT id FROM hubs WHERE NOT gone)
     RETURNING h.not_before`,
  ),
  release: statement(
    'ho_release',
    `UPDATE crawl_hosts h SET hub_id = NULL, not_before = GREATEST(h.not_before, r.not_before)
     FROM unnest($2::text[], $3::bigint[]) AS r(host, not_before)
     WHERE h.crawl_id = $1 AND h.host = r.host AND h.hub_id = $4`,
  ),
  // Rows of those hosts this hub claimed but no longer holds in memory.
  releaseRows: statement('ho_release_rows', 'UPDATE requests SET claimed_by = NULL WHERE crawl_id = $1 AND host = ANY($2::text[]) AND state = 0 AND claimed_by = $3'),
  /** In reclaimDeadHubs' transaction: hosts of every gone hub are free. */
  freeGone: statement('ho_free_gone', 'UPDATE crawl_hosts SET hub_id = NULL WHERE hub_id IN (SELECT id FROM hubs WHERE gone)'),
  getRobots: statement('ro_get', 'SELECT * FROM robots WHERE origin = $1'),
  putRobots: statement(
    'ro_put',
    `INSERT INTO robots AS r (origin, body, fetched_at, expires_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (origin) DO UPDATE SET body = EXCLUDED.body, fetched_at = EXCLUDED.fetched_at, expires_at = EXCLUDED.expires_at
     WHERE r.fetched_at < EXCLUDED.fetched_at`,
  ),
  shareAddressLeases: statement(
    'al_share',
    `WITH mine AS (UPDATE hubs SET address_leases = $2::jsonb WHERE id = $1)
     SELECT e.key AS address, SUM(e.value::bigint) AS leases FROM hubs h, jsonb_each_text(h.address_leases) e
     WHERE NOT h.gone AND h.id <> $1 GROUP BY e.key`,
  ),
  /** In leaveFleet's transaction. */
  freeOf: statement('ho_free_of', 'UPDATE crawl_hosts SET hub_id = NULL WHERE hub_id = $1'),
};

/** What the claim adds: the host's row names this hub. */
export const HOST_HELD_BY_CLAIMER = 'EXISTS (SELECT 1 FROM crawl_hosts o WHERE o.crawl_id = $1 AND o.host = $2 AND o.hub_id = $5)';

export class PgHostStore {
  private readonly pool: pg.Pool;
  /** This hub's id once registered (fleet-store.ts); before, a lone hub holds every host. */
  private readonly hubId: () => string | undefined;

  constructor(pool: pg.Pool, hubId: () => string | undefined) {
    this.pool = pool;
    this.hubId = hubId;
  }

  get sharesHosts(): boolean {
    return this.hubId() !== undefined;
  }

  async holdHost(crawlId: string, host: string): Promise<HostHold> {
    const me = this.hubId();
    if (me === undefined) return { held: true, notBefore: 0 };
    const row = (await run<{ not_before: string }>(this.pool, HOST_STATEMENTS.hold, [crawlId, host, me])).rows[0];
    return row ? { held: true, notBefore: Number(row.not_before) } : { held: false, notBefore: 0 };
  }

  /** The fleet's robots.txt cache (the other politeness state hubs share). */
  async getRobots(origin: string): Promise<StoredRobots | undefined> {
    const r = (await run(this.pool, HOST_STATEMENTS.getRobots, [origin])).rows[0];
    return r ? { origin: String(r.origin), body: r.body === null ? null : String(r.body), fetchedAt: Number(r.fetched_at), expiresAt: Number(r.expires_at) } : undefined;
  }

  async putRobots(row: StoredRobots): Promise<void> {
    await run(this.pool, HOST_STATEMENTS.putRobots, [row.origin, row.body, row.fetchedAt, row.expiresAt]);
  }

  async shareAddressLeases(hubId: string, counts: Readonly<Record<string, number>>): Promise<Record<string, number>> {
    const rows = (await run<{ address: string; leases: string }>(this.pool, HOST_STATEMENTS.shareAddressLeases, [hubId, JSON.stringify(counts)])).rows;
    return Object.fromEntries(rows.map((r) => [r.address, Number(r.leases)]));
  }

  async releaseHosts(crawlId: string, hosts: readonly HostRelease[]): Promise<void> {
    const me = this.hubId();
    if (me === undefined || hosts.length === 0) return;
    const names = hosts.map((h) => h.host);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await run(client, HOST_STATEMENTS.release, [crawlId, names, hosts.map((h) => Math.round(h.notBefore)), me]);
      await run(client, HOST_STATEMENTS.releaseRows, [crawlId, names, me]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }
}
