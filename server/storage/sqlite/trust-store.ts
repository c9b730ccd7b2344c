// The SQLite backend's trust tables (server/validate/ is their one user):
// contributors' records, bans, worker tokens and the bodies kept for
// re-checks. Writes join the storage's group commit like every other write.
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { BanKind, BanRow, TrustChange, TrustRow, TrustedPage, WorkerTokenRow } from '../storage.ts';
import { applyChange, mergeByKey } from '../trust-changes.ts';
import type { GroupCommit } from './group-commit.ts';

type Row = Record<string, unknown>;

/** How a page's result was believed, as stored in requests.validation. */
export const VALIDATION_CODES = { checked: 1, trusted: 2, operator: 3, hub: 4 } as const;

/** A row of the trusted-pages query (both backends select the same columns). */
export function trustedPage(value: unknown): TrustedPage {
  const r = value as Row;
  return {
    crawlId: String(r.crawl_id),
    key: String(r.key),
    url: String(r.url),
    finalUrl: String(r.final_url),
    depth: Number(r.depth),
    httpStatus: Number(r.http_status),
    contentHash: String(r.content_hash),
    resultDigest: String(r.result_digest),
    specVersion: Number(r.spec_version),
  };
}

function trustRow(value: unknown): TrustRow {
  const r = value as Row;
  return {
    key: String(r.key),
    label: String(r.label),
    checked: Number(r.checked),
    valid: Number(r.valid),
    invalid: Number(r.invalid),
    trusted: Number(r.trusted),
    strikes: Number(r.strikes),
    consecutiveValid: Number(r.consecutive_valid),
    banned: Number(r.banned) === 1,
    lastReason: r.last_reason === null ? null : String(r.last_reason),
    updatedAt: Number(r.updated_at),
  };
}

export class SqliteTrustStore {
  private readonly commits: GroupCommit;
  private readonly s: Record<string, StatementSync>;

  constructor(db: DatabaseSync, commits: GroupCommit) {
    this.commits = commits;
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      listBans: p('SELECT * FROM bans ORDER BY created_at DESC, kind, value'),
      addBan: p('INSERT INTO bans (kind, value, reason, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
      removeBan: p('DELETE FROM bans WHERE kind = ? AND value = ?'),
      listTrust: p('SELECT * FROM trust'),
      getTrust: p('SELECT * FROM trust WHERE key = ?'),
      saveTrust: p(
        `INSERT INTO trust (key, label, checked, valid, invalid, trusted, strikes, consecutive_valid, banned, last_reason, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET label = excluded.label, checked = excluded.checked, valid = excluded.valid,
         invalid = excluded.invalid, trusted = excluded.trusted, strikes = excluded.strikes,
         consecutive_valid = excluded.consecutive_valid, banned = excluded.banned, last_reason = excluded.last_reason,
         updated_at = excluded.updated_at`,
      ),
      listTokens: p('SELECT * FROM worker_tokens ORDER BY created_at DESC'),
      insertToken: p('INSERT INTO worker_tokens (id, name, token_hash, created_at) VALUES (?, ?, ?, ?)'),
      deleteToken: p('DELETE FROM worker_tokens WHERE id = ?'),
      trustedPages: p(
        `SELECT crawl_id, key, url, final_url, depth, http_status, content_hash, result_digest, spec_version FROM requests
         WHERE client_id = ? AND validation = ${VALIDATION_CODES.trusted} AND state = 2`,
      ),
      getBody: p('SELECT data FROM bodies WHERE content_hash = ?'),
      pruneBodies: p('DELETE FROM bodies WHERE stored_at < ?'),
    };
  }

  async listBans(): Promise<BanRow[]> {
    return this.s.listBans!.all().map((r) => ({
      kind: r.kind as BanKind,
      value: String(r.value),
      reason: String(r.reason),
      createdAt: Number(r.created_at),
    }));
  }

  addBan(ban: BanRow): Promise<void> {
    return this.commits.run(() => {
      this.s.addBan!.run(ban.kind, ban.value, ban.reason.slice(0, 500), ban.createdAt);
    });
  }

  removeBan(kind: BanKind, value: string): Promise<boolean> {
    return this.commits.run(() => Number(this.s.removeBan!.run(kind, value).changes) === 1);
  }

  async listTrust(): Promise<TrustRow[]> {
    return this.s.listTrust!.all().map(trustRow);
  }

  saveTrust(rows: readonly TrustRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return this.commits.run(() => {
      for (const r of rows) {
        this.s.saveTrust!.run(r.key, r.label, r.checked, r.valid, r.invalid, r.trusted, r.strikes, r.consecutiveValid, r.banned ? 1 : 0, r.lastReason, r.updatedAt);
      }
    });
  }

  /** Read, added to and written in one transaction (one writer: nothing comes between). */
  updateTrust(changes: readonly TrustChange[]): Promise<TrustRow[]> {
    if (changes.length === 0) return Promise.resolve([]);
    return this.commits.run(() =>
      mergeByKey(changes).map((c) => {
        const found = this.s.getTrust!.get(c.key);
        const before: TrustRow = found
          ? trustRow(found)
          : { key: c.key, label: c.label, checked: 0, valid: 0, invalid: 0, trusted: 0, strikes: 0, consecutiveValid: 0, banned: false, lastReason: null, updatedAt: c.updatedAt };
        const r = applyChange(before, c);
        this.s.saveTrust!.run(r.key, r.label, r.checked, r.valid, r.invalid, r.trusted, r.strikes, r.consecutiveValid, r.banned ? 1 : 0, r.lastReason, r.updatedAt);
        return r;
      }),
    );
  }

  async listWorkerTokens(): Promise<WorkerTokenRow[]> {
    return this.s.listTokens!.all().map((r) => ({ id: String(r.id), name: String(r.name), tokenHash: String(r.token_hash), createdAt: Number(r.created_at) }));
  }

  insertWorkerToken(row: WorkerTokenRow): Promise<void> {
    return this.commits.run(() => {
      this.s.insertToken!.run(row.id, row.name, row.tokenHash, row.createdAt);
    });
  }

  deleteWorkerToken(id: string): Promise<boolean> {
    return this.commits.run(() => Number(this.s.deleteToken!.run(id).changes) === 1);
  }

  async trustedPagesOf(clientId: string): Promise<TrustedPage[]> {
    return this.s.trustedPages!.all(clientId).map(trustedPage);
  }

  async getBody(contentHash: string): Promise<Uint8Array | undefined> {
    const row = this.s.getBody!.get(contentHash) as { data: Uint8Array } | undefined;
    return row?.data;
  }

  pruneBodies(before: number): Promise<number> {
    return this.commits.run(() => Number(this.s.pruneBodies!.run(before).changes));
  }
}
