// The SQLite backend's fleet registry (docs/scale-out.md). A SQLite database
// belongs to one hub process at a time, so the fleet is trivial here: the hub
// that registers marks every earlier run gone, every queued row is its own
// (nothing is claimed, so there is nothing to give back), and the engine runs
// the same code as on a shared PostgreSQL database.
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { HubHeartbeat, HubRow } from '../fleet-rows.ts';
import type { GroupCommit } from './group-commit.ts';

type Row = Record<string, unknown>;

export function hubRow(value: unknown): HubRow {
  const r = value as Row;
  return {
    id: String(r.id),
    address: String(r.address),
    version: String(r.version),
    startedAt: Number(r.started_at),
    heartbeatAt: Number(r.heartbeat_at),
    workers: Number(r.workers),
    leases: Number(r.leases),
    pagesPerSec: Number(r.pages_per_sec),
    state: Number(r.gone) === 1 ? 'gone' : 'alive',
  };
}

export class SqliteFleetStore {
  private readonly commits: GroupCommit;
  private readonly s: Record<string, StatementSync>;

  constructor(db: DatabaseSync, commits: GroupCommit) {
    this.commits = commits;
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      othersGone: p('UPDATE hubs SET gone = 1 WHERE id <> ? AND gone = 0'),
      insert: p(
        `INSERT INTO hubs (id, address, version, started_at, heartbeat_at, workers, leases, pages_per_sec, gone)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)
         ON CONFLICT (id) DO UPDATE SET address = excluded.address, version = excluded.version, heartbeat_at = excluded.heartbeat_at, gone = 0`,
      ),
      beat: p('UPDATE hubs SET heartbeat_at = ?, workers = ?, leases = ?, pages_per_sec = ? WHERE id = ? AND gone = 0'),
      dead: p('UPDATE hubs SET gone = 1 WHERE gone = 0 AND heartbeat_at < ? RETURNING id'),
      forget: p('DELETE FROM hubs WHERE gone = 1 AND heartbeat_at < ?'),
      leave: p('UPDATE hubs SET gone = 1, heartbeat_at = MAX(heartbeat_at, ?) WHERE id = ?'),
      list: p('SELECT * FROM hubs ORDER BY gone, started_at DESC, id'),
    };
  }

  registerHub(hub: HubRow): Promise<void> {
    return this.commits.run(() => {
      this.s.othersGone!.run(hub.id);
      this.s.insert!.run(hub.id, hub.address, hub.version, hub.startedAt, hub.heartbeatAt, hub.workers, hub.leases, hub.pagesPerSec);
    });
  }

  heartbeat(id: string, beat: HubHeartbeat): Promise<boolean> {
    return this.commits.run(() => Number(this.s.beat!.run(beat.heartbeatAt, beat.workers, beat.leases, beat.pagesPerSec, id).changes) === 1);
  }

  reclaimDeadHubs(before: number, forgetBefore: number): Promise<{ hubs: string[]; rows: number }> {
    return this.commits.run(() => {
      const hubs = this.s.dead!.all(before).map((r) => String((r as Row).id));
      this.s.forget!.run(forgetBefore);
      // No row is ever claimed on SQLite: a dead run's leases were in its memory only.
      return { hubs, rows: 0 };
    });
  }

  leaveFleet(id: string, at: number): Promise<void> {
    return this.commits.run(() => {
      this.s.leave!.run(at, id);
    });
  }

  async listHubs(): Promise<HubRow[]> {
    return this.s.list!.all().map(hubRow);
  }
}
