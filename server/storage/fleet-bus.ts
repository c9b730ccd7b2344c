// The fleet bus: short notices from one hub to the others that share its
// database (docs/scale-out.md, "Live views across hubs"). The live views
// publish what a tick produced (one notice per hub per tick); a crawl's status
// change says "crawls changed" so the other hubs look at the rows now rather
// than at their next poll.
//
// It lives in storage/ because it is the database's other half: on PostgreSQL
// it is LISTEN/NOTIFY on a connection of its own (postgres/pg-bus.ts), and
// every `pg` import and SQL statement of the hub stays under storage/. It is
// not a second writer: a notice changes no row, nothing is known only from a
// notice (a hub that misses one reads the rows, or gets the next tick's), and
// delivery is best-effort. Every step after storage may use it (live/ for the
// views, engine/ for waking its crawl sync). On SQLite, a fleet of one, the
// bus is LocalBus: nothing to tell (tests join several LocalBuses in-process).

/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more. */
export const MAX_NOTICE_BYTES = 7999;

/** The channels the live views use (PostgreSQL identifiers: lower case). */
export const FLEET_CHANNELS = {
  board: 'crowdcrawl_board',
  admin: 'crowdcrawl_admin',
  crawls: 'crowdcrawl_crawls',
} as const;

export interface BusHandler {
  /** Another hub's notice (never this hub's own). */
  message(from: string, payload: string): void;
  /** Another hub's notice was too large to send: read what it was about from the rows (or wait for its next tick). */
  reload?(from: string): void;
  /** Notices may have been missed (the bus's connection dropped and is back): read the rows again. */
  resync?(): void;
}

export interface FleetBus {
  /** This hub's id: the sender of what it publishes. */
  readonly hubId: string;
  /**
   * Sends `payload` to the other hubs on `channel`, best-effort and in order;
   * never throws. A payload too large for one notice is sent as "reload".
   */
  publish(channel: string, payload: string): void;
  /** Hears the other hubs' notices on `channel`; returns the function that stops. */
  subscribe(channel: string, handler: BusHandler): () => void;
  close(): Promise<void>;
}

/** A notice as sent: the sender, a kind (m: message, r: reload), and the payload. */
export type Notice = { from: string; kind: 'message'; payload: string } | { from: string; kind: 'reload' };

export function encodeNotice(from: string, payload: string): string {
  const text = `${from}\nm${payload}`;
  return Buffer.byteLength(text, 'utf8') <= MAX_NOTICE_BYTES ? text : `${from}\nr`;
}

export function decodeNotice(text: string): Notice | undefined {
  const newline = text.indexOf('\n');
  if (newline <= 0) return undefined;
  const from = text.slice(0, newline);
  const kind = text[newline + 1];
  if (kind === 'm') return { from, kind: 'message', payload: text.slice(newline + 2) };
  if (kind === 'r') return { from, kind: 'reload' };
  return undefined;
}

/** The subscribers of one bus, by channel: what both implementations share. */
export class BusSubscribers {
  private readonly handlers = new Map<string, Set<BusHandler>>();

  add(channel: string, handler: BusHandler): { first: boolean; remove: () => boolean } {
    let set = this.handlers.get(channel);
    const first = !set;
    if (!set) this.handlers.set(channel, (set = new Set()));
    set.add(handler);
    return {
      first,
      /** True when it was the channel's last handler. */
      remove: () => {
        set.delete(handler);
        if (set.size > 0 || this.handlers.get(channel) !== set) return false;
        this.handlers.delete(channel);
        return true;
      },
    };
  }

  channels(): string[] {
    return [...this.handlers.keys()];
  }

  /** Hands a notice to the channel's handlers; a handler that throws does not stop the others. */
  deliver(channel: string, self: string, text: string, onError: (error: unknown) => void): void {
    const notice = decodeNotice(text);
    if (!notice || notice.from === self) return;
    for (const handler of [...(this.handlers.get(channel) ?? [])]) {
      try {
        if (notice.kind === 'message') handler.message(notice.from, notice.payload);
        else handler.reload?.(notice.from);
      } catch (error) {
        onError(error);
      }
    }
  }

  resync(onError: (error: unknown) => void): void {
    for (const set of this.handlers.values()) {
      for (const handler of [...set]) {
        try {
          handler.resync?.();
        } catch (error) {
          onError(error);
        }
      }
    }
  }
}

/** Hubs of one process that hear each other (tests); a LocalBus alone hears no one. */
export class LocalNetwork {
  readonly buses = new Set<LocalBus>();
}

/**
 * The bus of a fleet of one (SQLite): publishing tells no one. Buses given one
 * LocalNetwork hear each other synchronously, as tests of the live views want.
 */
export class LocalBus implements FleetBus {
  readonly hubId: string;
  private readonly network: LocalNetwork;
  private readonly subscribers = new BusSubscribers();

  constructor(hubId: string, network = new LocalNetwork()) {
    this.hubId = hubId;
    this.network = network;
    network.buses.add(this);
  }

  publish(channel: string, payload: string): void {
    const text = encodeNotice(this.hubId, payload);
    for (const bus of this.network.buses) if (bus !== this) bus.subscribers.deliver(channel, bus.hubId, text, () => {});
  }

  subscribe(channel: string, handler: BusHandler): () => void {
    const { remove } = this.subscribers.add(channel, handler);
    return () => void remove();
  }

  /** Tells this bus's subscribers that notices may have been missed (tests). */
  resync(): void {
    this.subscribers.resync(() => {});
  }

  async close(): Promise<void> {
    this.network.buses.delete(this);
  }
}
