// The bodies kept for re-checks (docs/trust.md) that a committed batch of this
// store wrote, and when: a body served again (the same bytes under another URL,
// or the same site crawled again) within BODY_REFRESH_SLACK_MS of its last
// write is neither compressed nor written again. Its row already holds the
// bytes, and the re-check guarantee holds because bodies are pruned only
// BODY_REFRESH_SLACK_MS after their retention (`bodyPruneCutoff`): a body last
// written at t >= now - slack lives until t + retention + slack >= now +
// retention, as if it had been written now.
//
// Both backends use it inside their group commit, learning what a batch wrote
// as it runs; a failed batch forgets everything (its rows may not exist).
// Bounded: emptied once it holds `capacity` hashes (they are then written again).

/** How long a kept body's last write stands in for a new one. */
export const BODY_REFRESH_SLACK_MS = 3_600_000;

/** Bodies last written before this are past their retention (Storage.pruneBodies). */
export function bodyPruneCutoff(now: number, retentionMs: number): number {
  return now - retentionMs - BODY_REFRESH_SLACK_MS;
}

/** A kept body: its bytes given, or made only if they are to be written (compression is the costly part). */
export interface KeptBody {
  contentHash: string;
  data: Uint8Array | (() => Uint8Array);
}

export class KeptBodies {
  private readonly written = new Map<string, number>();
  private readonly capacity: number;

  constructor(capacity = 20_000) {
    this.capacity = capacity;
  }

  /** The bytes to write for `body` at `at`, or undefined when its row already stands for it (learned as written). */
  toWrite(body: KeptBody, at: number): Uint8Array | undefined {
    const last = this.written.get(body.contentHash);
    if (last !== undefined && last >= at - BODY_REFRESH_SLACK_MS) return undefined;
    if (this.written.size >= this.capacity) this.written.clear();
    this.written.set(body.contentHash, at);
    return typeof body.data === 'function' ? body.data() : body.data;
  }

  /** A batch failed (what it wrote is not in the table), or bodies were pruned. */
  clear(): void {
    this.written.clear();
  }
}
