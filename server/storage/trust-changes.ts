// A contributor's record changed by increments (storage.ts TrustChange): the
// hubs of a fleet each keep the changes they made since they last stored
// them, and storage adds them to the shared row, so no hub overwrites
// another's counts. The same arithmetic runs here (to put changes made while
// a write was under way back on top of the stored row) and in SQL (both backends).
import type { TrustRow } from './storage.ts';
import type { TrustChange } from './trust-change.ts';

export function emptyChange(key: string, label: string, now: number): TrustChange {
  return { key, label, checked: 0, valid: 0, invalid: 0, trusted: 0, strikes: 0, strikesReset: false, consecutiveValid: 0, runReset: false, banned: null, lastReason: null, updatedAt: now };
}

/** The record after a change. */
export function applyChange(row: TrustRow, c: TrustChange): TrustRow {
  return {
    key: row.key,
    label: c.label,
    checked: row.checked + c.checked,
    valid: row.valid + c.valid,
    invalid: row.invalid + c.invalid,
    trusted: row.trusted + c.trusted,
    strikes: (c.strikesReset ? 0 : row.strikes) + c.strikes,
    consecutiveValid: (c.runReset ? 0 : row.consecutiveValid) + c.consecutiveValid,
    banned: c.banned ?? row.banned,
    lastReason: c.lastReason ?? row.lastReason,
    updatedAt: Math.max(row.updatedAt, c.updatedAt),
  };
}

/** One change doing what `older` then `newer` do (a write that failed is put back under the changes made since). */
export function combineChanges(older: TrustChange, newer: TrustChange): TrustChange {
  return {
    key: newer.key,
    label: newer.label,
    checked: older.checked + newer.checked,
    valid: older.valid + newer.valid,
    invalid: older.invalid + newer.invalid,
    trusted: older.trusted + newer.trusted,
    strikes: newer.strikesReset ? newer.strikes : older.strikes + newer.strikes,
    strikesReset: older.strikesReset || newer.strikesReset,
    consecutiveValid: newer.runReset ? newer.consecutiveValid : older.consecutiveValid + newer.consecutiveValid,
    runReset: older.runReset || newer.runReset,
    banned: newer.banned ?? older.banned,
    lastReason: newer.lastReason ?? older.lastReason,
    updatedAt: Math.max(older.updatedAt, newer.updatedAt),
  };
}

/** One change per key, in order. */
export function mergeByKey(changes: readonly TrustChange[]): TrustChange[] {
  const out = new Map<string, TrustChange>();
  for (const c of changes) {
    const before = out.get(c.key);
    out.set(c.key, before ? combineChanges(before, c) : c);
  }
  return [...out.values()];
}
