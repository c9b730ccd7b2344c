// The fleet on PostgreSQL (docs/scale-out.md): any number of hubs on one
// database. Each registers a row and renews it every heartbeat. A hub reads a
// host's queued rows into its window by claiming them (claimed_by = its id, in
// one UPDATE over `FOR UPDATE SKIP LOCKED`), so two hubs never hold the same
// row, and a hub's window holds only rows it claimed. A claim lasts as long as
// its hub is alive: the rows of a hub marked gone (it left, or its heartbeat
// stopped) are free again, for any hub to claim, and reclaimDeadHubs clears
// them. The claim's expiry is thus one row per hub (its heartbeat), not one per
// lease, which is what keeps leasing cheap for the database.
import type pg from 'pg';
import type { QueuedEntry } from '../storage.ts';
import type { HubHeartbeat, HubRow } from '../fleet-rows.ts';
import { run, statement, type Queryable } from './group-commit.ts';
import { queued, QUEUED_COLUMNS } from './frontier.ts';
import { HOST_HELD_BY_CLAIMER, HOST_STATEMENTS } from './host-store.ts';

type QueuedDbRow = Parameters<typeof queued>[0];

const S = {
  register: statement(
    'fl_register',
    `INSERT INTO hubs (id, address, version, started_at, heartbeat_at, workers, leases, pages_per_sec, gone)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, FALSE)
     ON CONFLICT (id) DO UPDATE SET address = EXCLUDED.address, version = EXCLUDED.version, heartbeat_at = EXCLUDED.heartbeat_at, gone = FALSE`,
  ),
  beat: statement('fl_beat', 'UPDATE hubs SET heartbeat_at = $2, workers = $3, leases = $4, pages_per_sec = $5 WHERE id = $1 AND NOT gone'),
  dead: statement('fl_dead', 'UPDATE hubs SET gone = TRUE WHERE NOT gone AND heartbeat_at < $1 RETURNING id'),
  // Claims of every gone hub (those just marked, and any a gone hub made before it knew).
  free: statement('fl_free', 'UPDATE requests SET claimed_by = NULL WHERE claimed_by IN (SELECT id FROM hubs WHERE gone)'),
  forget: statement(
    'fl_forget',
    'DELETE FROM hubs h WHERE gone AND heartbeat_at < $1 AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.claimed_by = h.id)',
  ),
  leave: statement('fl_leave', 'UPDATE hubs SET gone = TRUE, heartbeat_at = GREATEST(heartbeat_at, $2) WHERE id = $1'),
  leaveFree: statement('fl_leave_free', 'UPDATE requests SET claimed_by = NULL WHERE claimed_by = $1'),
  list: statement('fl_list', 'SELECT * FROM hubs ORDER BY gone, started_at DESC, id'),
  // A host's next queued rows that are free (unclaimed, claimed by this hub, or by a hub no longer alive), claimed
  // for this hub, only while this hub is alive and holds the host (host-store.ts). Rows another hub is claiming right
  // now are skipped, not waited for.
  claim: statement(
    'fl_claim',
    `UPDATE requests r SET claimed_by = $5
     FROM (
       SELECT q.crawl_id, q.key FROM requests q
       WHERE q.crawl_id = $1 AND q.host = $2 AND q.state = 0 AND q.seq > $3
         AND (q.claimed_by IS NULL OR q.claimed_by = $5 OR q.claimed_by NOT IN (SELECT id FROM hubs WHERE NOT gone))
         AND EXISTS (SELECT 1 FROM hubs WHERE id = $5 AND NOT gone) AND ${HOST_HELD_BY_CLAIMER}
       ORDER BY q.seq LIMIT $4
       FOR UPDATE OF q SKIP LOCKED
     ) c
     WHERE r.crawl_id = c.crawl_id AND r.key = c.key
     RETURNING ${QUEUED_COLUMNS.split(', ').map((c) => `r.${c}`).join(', ')}`,
  ),
};

function hubRow(r: Record<string, unknown>): HubRow {
  return {
    id: String(r.id),
    address: String(r.address),
    version: String(r.version),
    startedAt: Number(r.started_at),
    heartbeatAt: Number(r.heartbeat_at),
    workers: Number(r.workers),
    leases: Number(r.leases),
    pagesPerSec: Number(r.pages_per_sec),
    state: r.gone === true ? 'gone' : 'alive',
  };
}

export class PgFleetStore {
  private readonly pool: pg.Pool;
  /** This store's hub (set by registerHub): the rows it reads are claimed for it. */
  hubId: string | undefined;

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  /** A host's queued rows after `afterSeq`, claimed for this hub; before it registered, read as they are (a lone hub). */
  async loadQueued(db: Queryable, crawlId: string, host: string, afterSeq: number, limit: number, readOnly: () => Promise<QueuedEntry[]>): Promise<QueuedEntry[]> {
    if (this.hubId === undefined) return readOnly();
    const rows = (await run<QueuedDbRow>(db, S.claim, [crawlId, host, afterSeq, limit, this.hubId])).rows.map(queued);
    return rows.sort((a, b) => a.seq - b.seq);
  }

  async registerHub(hub: HubRow): Promise<void> {
    await run(this.pool, S.register, [hub.id, hub.address, hub.version, hub.startedAt, hub.heartbeatAt, hub.workers, hub.leases, hub.pagesPerSec]);
    this.hubId = hub.id;
  }

  async heartbeat(id: string, beat: HubHeartbeat): Promise<boolean> {
    return (await run(this.pool, S.beat, [id, beat.heartbeatAt, beat.workers, beat.leases, beat.pagesPerSec])).rowCount === 1;
  }

  async reclaimDeadHubs(before: number, forgetBefore: number): Promise<{ hubs: string[]; rows: number }> {
    return this.transaction(async (client) => {
      const hubs = (await run<{ id: string }>(client, S.dead, [before])).rows.map((r) => r.id);
      const rows = (await run(client, S.free)).rowCount ?? 0;
      await run(client, HOST_STATEMENTS.freeGone);
      await run(client, S.forget, [forgetBefore]);
      return { hubs, rows };
    });
  }

  async leaveFleet(id: string, at: number): Promise<void> {
    await this.transaction(async (client) => {
      await run(client, S.leave, [id, at]);
      await run(client, S.leaveFree, [id]);
      await run(client, HOST_STATEMENTS.freeOf, [id]);
    });
    if (this.hubId === id) this.hubId = undefined;
  }

  async listHubs(): Promise<HubRow[]> {
    return (await run(this.pool, S.list)).rows.map(hubRow);
  }

  private async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }
}
