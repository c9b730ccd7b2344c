// A contributor's record changed by increments, as storage takes it
// (Storage.updateTrust): the arithmetic is in trust-changes.ts. Its own file
// so storage.ts can name it without importing that arithmetic (no import circle).

/** What one hub changed in a contributor's record since it last stored it, as increments. */
export interface TrustChange {
  key: string;
  label: string;
  checked: number;
  valid: number;
  invalid: number;
  trusted: number;
  /** Strikes added; after `strikesReset`, the count to start again from. */
  strikes: number;
  /** The operator lifted a ban here: strikes start again from zero. */
  strikesReset: boolean;
  /** Valid results added to the run; after `runReset`, the run since a wrong result here ended it. */
  consecutiveValid: number;
  runReset: boolean;
  /** Set here (a ban, or its lifting); null: left as stored. */
  banned: boolean | null;
  /** Set here; null: left as stored. */
  lastReason: string | null;
  updatedAt: number;
}
