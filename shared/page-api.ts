// What the contributor page puts on `window.crowdcrawl` for automation: the
// page (client/src/state/page.svelte.ts) implements it, and whatever drives the
// page from outside reads it (server/worker/edge-tabs.ts for `crowdcrawl
// workers`, and the tests). Declared once here so both ends agree.
import type { ProtocolError } from './protocol.ts';
import type { WorkerState } from './worker/loop.ts';

/** The tab's worker state, or 'off' before it starts contributing. */
export type VolunteerState = WorkerState | 'off';

/** What `window.crowdcrawl.status()` returns. */
export interface VolunteerStatus {
  state: VolunteerState;
  name: string;
  pages: number;
  items: number;
  failures: number;
  bytes: number;
  inFlight: number;
  paused: boolean;
  lastError: ProtocolError | null;
}

export interface CrowdcrawlPageApi {
  status(): VolunteerStatus;
  /** Hands this tab's leases back and disconnects. */
  stop(): Promise<void>;
  /** This tab's row on the board (all-time totals), when the hub has sent it. */
  boardSelf(): { pages: number; items: number; online: boolean } | null;
}
