// PostgreSQL: the trust tables (server/validate/ is their one user):
// contributors' records, bans, worker tokens and the bodies kept for re-checks.
// Writes join the storage's group commit like every other write.
import type { BanKind, BanRow, TrustChange, TrustRow, TrustedPage, WorkerTokenRow } from '../storage.ts';
import { mergeByKey } from '../trust-changes.ts';
import { trustedPage, VALIDATION_CODES } from '../sqlite/trust-store.ts';
import { run, statement, type PgGroupCommit, type Queryable } from './group-commit.ts';

type Row = Record<string, unknown>;

const S = {
  listBans: statement('tr_list_bans', 'SELECT * FROM bans ORDER BY created_at DESC, kind, value'),
  addBan: statement('tr_add_ban', 'INSERT INTO bans (kind, value, reason, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING'),
  removeBan: statement('tr_remove_ban', 'DELETE FROM bans WHERE kind = $1 AND value = $2'),
  listTrust: statement('tr_list_trust', 'SELECT * FROM trust'),
  // Absolute values, many rows in one statement.
  saveTrust: statement(
    'tr_save_trust',
    `INSERT INTO trust (key, label, checked, valid, invalid, trusted, strikes, consecutive_valid, banned, last_reason, updated_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::boolean[], $10::text[], $11::bigint[])
     ON CONFLICT (key) DO UPDATE SET label = excluded.label, checked = excluded.checked, valid = excluded.valid,
     invalid = excluded.invalid, trusted = excluded.trusted, strikes = excluded.strikes,
     consecutive_valid = excluded.consecutive_valid, banned = excluded.banned, last_reason = excluded.last_reason,
     updated_at = excluded.updated_at`,
  ),
  // Changes as increments (../trust-changes.ts): a new record is made first, then every change is added
  // under the row's lock, so two hubs' changes to one record add up whichever commits first.
  makeTrust: statement(
    'tr_make_trust',
    `INSERT INTO trust (key, label, checked, valid, invalid, trusted, strikes, consecutive_valid, banned, last_reason, updated_at)
     SELECT k, l, 0, 0, 0, 0, 0, 0, FALSE, NULL, u FROM unnest($1::text[], $2::text[], $3::bigint[]) AS x(k, l, u)
     ON CONFLICT (key) DO NOTHING`,
  ),
  addTrust: statement(
    'tr_add_trust',
    `UPDATE trust t SET label = x.l, checked = t.checked + x.c, valid = t.valid + x.v, invalid = t.invalid + x.i, trusted = t.trusted + x.tr,
       strikes = CASE WHEN x.sr THEN 0 ELSE t.strikes END + x.s,
       consecutive_valid = CASE WHEN x.rr THEN 0 ELSE t.consecutive_valid END + x.cv,
       banned = COALESCE(x.b, t.banned), last_reason = COALESCE(x.lr, t.last_reason), updated_at = GREATEST(t.updated_at, x.u)
     FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::boolean[], $9::bigint[], $10::boolean[], $11::boolean[], $12::text[], $13::bigint[])
       AS x(k, l, c, v, i, tr, s, sr, cv, rr, b, lr, u)
     WHERE t.key = x.k
     RETURNING t.*`,
  ),
  listTokens: statement('tr_list_tokens', 'SELECT * FROM worker_tokens ORDER BY created_at DESC'),
  insertToken: statement('tr_insert_token', 'INSERT INTO worker_tokens (id, name, token_hash, created_at) VALUES ($1, $2, $3, $4)'),
  deleteToken: statement('tr_delete_token', 'DELETE FROM worker_tokens WHERE id = $1'),
  trustedPages: statement(
    'tr_trusted_pages',
    `SELECT crawl_id, key, url, final_url, depth, http_status, content_hash, result_digest, spec_version FROM requests
     WHERE client_id = $1 AND validation = ${VALIDATION_CODES.trusted} AND state = 2`,
  ),
  getBody: statement('tr_get_body', 'SELECT data FROM bodies WHERE content_hash = $1'),
  pruneBodies: statement('tr_prune_bodies', 'DELETE FROM bodies WHERE stored_at < $1'),
};

function trustRow(r: Row): TrustRow {
  return {
    key: String(r.key),
    label: String(r.label),
    checked: Number(r.checked),
    valid: Number(r.valid),
    invalid: Number(r.invalid),
    trusted: Number(r.trusted),
    strikes: Number(r.strikes),
    consecutiveValid: Number(r.consecutive_valid),
    banned: r.banned === true,
    lastReason: r.last_reason === null ? null : String(r.last_reason),
    updatedAt: Number(r.updated_at),
  };
}

export class PgTrustStore {
  private readonly db: Queryable;
  private readonly commits: PgGroupCommit;

  constructor(db: Queryable, commits: PgGroupCommit) {
    this.db = db;
    this.commits = commits;
  }

  async listBans(): Promise<BanRow[]> {
    return (await run(this.db, S.listBans)).rows.map((r) => ({ kind: r.kind as BanKind, value: String(r.value), reason: String(r.reason), createdAt: Number(r.created_at) }));
  }

  addBan(ban: BanRow): Promise<void> {
    return this.commits.run(async (tx) => {
      await tx.run(S.addBan, [ban.kind, ban.value, ban.reason.slice(0, 500), ban.createdAt]);
    });
  }

  removeBan(kind: BanKind, value: string): Promise<boolean> {
    return this.commits.run(async (tx) => (await tx.run(S.removeBan, [kind, value])).rowCount === 1);
  }

  async listTrust(): Promise<TrustRow[]> {
    return (await run(this.db, S.listTrust)).rows.map(trustRow);
  }

  saveTrust(rows: readonly TrustRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    // One row per key (the last), as writing them one after another would leave.
    const last = [...new Map(rows.map((r) => [r.key, r])).values()];
    return this.commits.run(async (tx) => {
      await tx.run(S.saveTrust, [
        last.map((r) => r.key), last.map((r) => r.label), last.map((r) => r.checked), last.map((r) => r.valid), last.map((r) => r.invalid),
        last.map((r) => r.trusted), last.map((r) => r.strikes), last.map((r) => r.consecutiveValid), last.map((r) => r.banned),
        last.map((r) => r.lastReason), last.map((r) => r.updatedAt),
      ]);
    });
  }

  updateTrust(changes: readonly TrustChange[]): Promise<TrustRow[]> {
    if (changes.length === 0) return Promise.resolve([]);
    const c = mergeByKey(changes);
    return this.commits.run(async (tx) => {
      await tx.run(S.makeTrust, [c.map((r) => r.key), c.map((r) => r.label), c.map((r) => r.updatedAt)]);
      const r = await tx.run(S.addTrust, [
        c.map((r) => r.key), c.map((r) => r.label), c.map((r) => r.checked), c.map((r) => r.valid), c.map((r) => r.invalid), c.map((r) => r.trusted),
        c.map((r) => r.strikes), c.map((r) => r.strikesReset), c.map((r) => r.consecutiveValid), c.map((r) => r.runReset), c.map((r) => r.banned),
        c.map((r) => r.lastReason), c.map((r) => r.updatedAt),
      ]);
      return r.rows.map(trustRow);
    });
  }

  async listWorkerTokens(): Promise<WorkerTokenRow[]> {
    return (await run(this.db, S.listTokens)).rows.map((r) => ({ id: String(r.id), name: String(r.name), tokenHash: String(r.token_hash), createdAt: Number(r.created_at) }));
  }

  insertWorkerToken(row: WorkerTokenRow): Promise<void> {
    return this.commits.run(async (tx) => {
      await tx.run(S.insertToken, [row.id, row.name, row.tokenHash, row.createdAt]);
    });
  }

  deleteWorkerToken(id: string): Promise<boolean> {
    return this.commits.run(async (tx) => (await tx.run(S.deleteToken, [id])).rowCount === 1);
  }

  async trustedPagesOf(clientId: string): Promise<TrustedPage[]> {
    return (await run(this.db, S.trustedPages, [clientId])).rows.map(trustedPage);
  }

  async getBody(contentHash: string): Promise<Uint8Array | undefined> {
    const row = (await run<{ data: Buffer }>(this.db, S.getBody, [contentHash])).rows[0];
    return row ? new Uint8Array(row.data.buffer, row.data.byteOffset, row.data.byteLength) : undefined;
  }

  pruneBodies(before: number): Promise<number> {
    return this.commits.run(async (tx) => (await tx.run(S.pruneBodies, [before])).rowCount ?? 0);
  }
}
