// Adaptive trust, BOINC-style (adaptive replication): a contributor is checked
// on every result until it has a run of `probationResults` consecutive valid
// ones; after that a result is checked with probability max(minCheckRate,
// 1 / consecutiveValid), which falls as the record grows and never reaches
// zero. A wrong result resets the run and is a strike; `strikesToBan` strikes
// ban the contributor. Records are kept per browser (client id) and per
// address: a cheater who makes a new client id starts probation again, and
// its strikes still add up on its address.
import type { TrustRow } from '../storage/storage.ts';

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
  private readonly dirty = new Set<string>();
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
    for (const row of this.rowsOf(c, now)) {
      row.checked++;
      row.valid++;
      row.consecutiveValid++;
    }
  }

  /** A wrong result: a strike on the browser and on its address. True when either has reached the ban. */
  invalid(c: Contributor, now: number, reason: string): boolean {
    let ban = false;
    for (const row of this.rowsOf(c, now)) {
      row.checked++;
      row.invalid++;
      row.strikes++;
      row.consecutiveValid = 0;
      row.lastReason = reason.slice(0, 300);
      if (row.strikes >= this.settings.strikesToBan) ban = true;
    }
    return ban;
  }

  /** An accepted result that was not checked (trusted at random). */
  trusted(c: Contributor, now: number): void {
    for (const row of this.rowsOf(c, now)) row.trusted++;
  }

  markBanned(key: string, banned: boolean, now: number): void {
    const row = this.rows.get(key);
    if (!row) return;
    row.banned = banned;
    if (!banned) {
      // Lifted by the operator: a fresh start, on probation again.
      row.strikes = 0;
      row.consecutiveValid = 0;
    }
    row.updatedAt = now;
    this.dirty.add(key);
  }

  /** Rows changed since the last call, to store. */
  takeDirty(): TrustRow[] {
    const out: TrustRow[] = [];
    for (const key of this.dirty) {
      const row = this.rows.get(key);
      if (row) out.push({ ...row });
    }
    this.dirty.clear();
    return out;
  }

  private rowsOf(c: Contributor, now: number): TrustRow[] {
    const out: TrustRow[] = [];
    for (const [key, label] of [[clientKey(c.clientId), c.name], [addressKey(c.address), c.address]] as const) {
      let row = this.rows.get(key);
      if (!row) {
        row = { key, label, checked: 0, valid: 0, invalid: 0, trusted: 0, strikes: 0, consecutiveValid: 0, banned: false, lastReason: null, updatedAt: now };
        this.rows.set(key, row);
      }
      row.label = label;
      row.updatedAt = now;
      this.dirty.add(key);
      out.push(row);
    }
    return out;
  }
}
