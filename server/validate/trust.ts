// Adaptive trust, BOINC-style (adaptive replication): a contributor is checked
// on every result until it has a run of `probationResults` consecutive valid
// ones; after that a result is checked with probability max(minCheckRate,
// 1 / consecutiveValid), which falls as the record grows and never reaches
// zero. A wrong result resets the run and is a strike; `strikesToBan` strikes
// ban the contributor. Records are kept per browser (client id) and per
// address: a cheater who makes a new client id starts probation again, and
// its strikes still add up on its address.
import type { TrustChange, TrustRow } from '../storage/storage.ts';
import { applyChange, combineChanges, emptyChange } from '../storage/trust-changes.ts';

export interface TrustSettings {
  probationResults: number;
  minCheckRate: number;
  strikesToBan: number;
}

export interface Contributor {
  readonly workerId: string;
  readonly clientId: string;
  readonly address: string;
  readonly name: string;
  /** Holds an operator's worker token: its results are trusted without checks. */
  readonly operatorTrusted: boolean;
}

export const clientKey = (clientId: string) => `client:${clientId}`;
export const addressKey = (address: string) => `address:${address}`;

export class TrustBook {
  private readonly rows = new Map<string, TrustRow>();
  /** What changed since the records were last stored, as increments (storage/trust-changes.ts): hubs sharing a database add theirs up. */
  private changes = new Map<string, TrustChange>();
  private readonly settings: TrustSettings;
  private readonly random: () => number;

  constructor(settings: TrustSettings, random: () => number = Math.random) {
    this.settings = settings;
    this.random = random;
  }

  load(rows: readonly TrustRow[]): void {
    for (const row of rows) this.rows.set(row.key, row);
  }

  get(key: string): TrustRow | undefined {
    return this.rows.get(key);
  }

  all(): IterableIterator<TrustRow> {
    return this.rows.values();
  }

  /** Whether this result of the contributor's is checked (on probation: always; after: at random). */
  needsCheck(c: Contributor): boolean {
    if (c.operatorTrusted) return false;
    const run = this.rows.get(clientKey(c.clientId))?.consecutiveValid ?? 0;
    if (run < this.settings.probationResults) return true;
    return this.random() < Math.max(this.settings.minCheckRate, 1 / run);
  }

  /** The check rate a contributor is at now, for the console. */
  checkRate(row: TrustRow): number {
    if (row.consecutiveValid < this.settings.probationResults) return 1;
    return Math.max(this.settings.minCheckRate, 1 / row.consecutiveValid);
  }

  valid(c: Contributor, now: number): void {
    for (const [row, change] of this.rowsOf(c, now)) {
      row.checked++;
      row.valid++;
      row.consecutiveValid++;
      change.checked++;
      change.valid++;
      change.consecutiveValid++;
    }
  }

  /** A wrong result: a strike on the browser and on its address. True when either has reached the ban. */
  invalid(c: Contributor, now: number, reason: string): boolean {
    let ban = false;
    for (const [row, change] of this.rowsOf(c, now)) {
      row.checked++;
      row.invalid++;
      row.strikes++;
      row.consecutiveValid = 0;
      row.lastReason = reason.slice(0, 300);
      if (row.strikes >= this.settings.strikesToBan) ban = true;
      change.checked++;
      change.invalid++;
      change.strikes++;
      change.runReset = true;
      change.consecutiveValid = 0;
      change.lastReason = row.lastReason;
    }
    return ban;
  }

  /** An accepted result that was not checked (trusted at random). */
  trusted(c: Contributor, now: number): void {
    for (const [row, change] of this.rowsOf(c, now)) {
      row.trusted++;
      change.trusted++;
    }
  }

  markBanned(key: string, banned: boolean, now: number): void {
    const row = this.rows.get(key);
    if (!row) return;
    row.banned = banned;
    row.updatedAt = now;
    const change = this.changeOf(row, now);
    change.banned = banned;
    if (!banned) {
      // Lifted by the operator: a fresh start, on probation again.
      row.strikes = 0;
      row.consecutiveValid = 0;
      change.strikes = 0;
      change.strikesReset = true;
      change.consecutiveValid = 0;
      change.runReset = true;
    }
  }

  /** The changes made since the last call, to add to the stored records (Storage.updateTrust). */
  takeChanges(): TrustChange[] {
    const out = [...this.changes.values()];
    this.changes = new Map();
    return out;
  }

  /**
   * The records as storage now holds them (this hub's changes and every other
   * hub's added up), with what changed here since the write began put back on top.
   */
  stored(rows: readonly TrustRow[]): void {
    for (const row of rows) {
      const since = this.changes.get(row.key);
      this.rows.set(row.key, since ? applyChange(row, since) : row);
    }
  }

  /** A write of these changes failed: they are kept, under the changes made since, for the next one. */
  unsaved(changes: readonly TrustChange[]): void {
    for (const older of changes) {
      const newer = this.changes.get(older.key);
      this.changes.set(older.key, newer ? combineChanges(older, newer) : older);
    }
  }

  private changeOf(row: TrustRow, now: number): TrustChange {
    let change = this.changes.get(row.key);
    if (!change) {
      change = emptyChange(row.key, row.label, now);
      this.changes.set(row.key, change);
    }
    change.label = row.label;
    change.updatedAt = now;
    return change;
  }

  private rowsOf(c: Contributor, now: number): [TrustRow, TrustChange][] {
    const out: [TrustRow, TrustChange][] = [];
    for (const [key, label] of [[clientKey(c.clientId), c.name], [addressKey(c.address), c.address]] as const) {
      let row = this.rows.get(key);
      if (!row) {
        row = { key, label, checked: 0, valid: 0, invalid: 0, trusted: 0, strikes: 0, consecutiveValid: 0, banned: false, lastReason: null, updatedAt: now };
        this.rows.set(key, row);
      }
      row.label = label;
      row.updatedAt = now;
      out.push([row, this.changeOf(row, now)]);
    }
    return out;
  }
}
