// The fleet bus on PostgreSQL (../fleet-bus.ts): LISTEN/NOTIFY on one
// connection of its own, not the pool's. A LISTEN holds its connection for as
// long as it listens (the pool would hand it to a query, or close it when
// idle), and notices must not wait behind the group commit's transactions.
//
// The connection drops when the database restarts, a proxy times it out, or
// an operator terminates it: the bus then connects again with a growing delay
// (reconnectMinMs doubling up to reconnectMaxMs), LISTENs again on every
// channel it had, and tells its subscribers to resync, since notices sent
// meanwhile are lost. What is published while it is down is dropped (the
// next tick sends the state again).
import pg from 'pg';
import { systemClock, type Clock, type ClockTimer } from '../../clock.ts';
import { BusSubscribers, encodeNotice, type BusHandler, type FleetBus } from '../fleet-bus.ts';

/** Channel names are put in LISTEN as identifiers: keep them plain. */
const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;
/** How long close() waits for the notices still queued. */
const CLOSE_WAIT_MS = 2000;

export interface PgBusOptions {
  clock?: Clock;
  /** First wait before connecting again after a drop; doubles on each failure. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  connectTimeoutMs?: number;
  /** Told once when the connection drops (or cannot be made), and once when it is back. */
  onStatus?: (status: 'lost' | 'back', error?: Error) => void;
  /** A subscriber threw. */
  onHandlerError?: (error: unknown) => void;
}

export class PgBus implements FleetBus {
  readonly hubId: string;
  private readonly url: string;
  private readonly clock: Clock;
  private readonly options: PgBusOptions;
  private readonly subscribers = new BusSubscribers();
  /** The connection, once it is up (LISTENs may still be on their way). */
  private client: pg.Client | undefined;
  /** The connection being made, or the one up: the one whose events count. */
  private current: pg.Client | undefined;
  private retryTimer: ClockTimer | undefined;
  private delayMs: number;
  private everConnected = false;
  private down = false;
  private closed = false;
  private readonly waiters: (() => void)[] = [];
  /** Notices dropped because the connection was down (for tests and the log). */
  dropped = 0;

  /** Starts connecting; the hub does not wait for it (a bus that cannot connect keeps trying). */
  constructor(url: string, hubId: string, options: PgBusOptions = {}) {
    this.url = url;
    this.hubId = hubId;
    this.clock = options.clock ?? systemClock;
    this.options = options;
    this.delayMs = options.reconnectMinMs ?? 250;
    void this.connect();
  }

  get connected(): boolean {
    return this.client !== undefined;
  }

  /** Resolves once the bus is connected and LISTENs on every channel subscribed so far. */
  ready(): Promise<void> {
    if (this.client && !this.listening) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  publish(channel: string, payload: string): void {
    const client = this.client;
    if (!client) {
      this.dropped++;
      return;
    }
    this.send(client, 'SELECT pg_notify($1, $2)', [channel, encodeNotice(this.hubId, payload)]).catch(() => {
      // The connection is failing: its 'error' or 'end' event reconnects.
      this.dropped++;
    });
  }

  subscribe(channel: string, handler: BusHandler): () => void {
    if (!CHANNEL.test(channel)) throw new Error(`fleet bus: "${channel}" is not a plain channel name`);
    const { first, remove } = this.subscribers.add(channel, handler);
    if (first && this.client) void this.listen(this.client, [channel]);
    return () => {
      if (remove() && this.client) this.send(this.client, `UNLISTEN ${channel}`).catch(() => {});
    };
  }

  /** The server process of the bus's connection (tests terminate it), undefined while down. */
  async backendPid(): Promise<number | undefined> {
    const client = this.client;
    if (!client) return undefined;
    return ((await this.send(client, 'SELECT pg_backend_pid() AS pid')).rows[0] as { pid: number }).pid;
  }

  /** Sends what was published (a closing hub's "gone" notices), then disconnects. */
  async close(): Promise<void> {
    this.closed = true;
    this.clock.clearTimeout(this.retryTimer);
    // Not for ever: a connection that hangs must not hold the hub's shutdown.
    let timer: ClockTimer | undefined;
    await Promise.race([this.queue, new Promise<void>((resolve) => (timer = this.clock.setTimeout(resolve, CLOSE_WAIT_MS)))]);
    this.clock.clearTimeout(timer);
    const client = this.current;
    this.client = this.current = undefined;
    for (const resolve of this.waiters.splice(0)) resolve();
    await client?.end().catch(() => {});
  }

  /** One query at a time on the connection (pg queues them, but asks callers not to rely on it). */
  private queue: Promise<unknown> = Promise.resolve();

  private send(client: pg.Client, sql: string, values?: unknown[]): Promise<pg.QueryResult> {
    const next = this.queue.then(() => client.query(sql, values));
    this.queue = next.catch(() => {});
    return next;
  }

  /** LISTENs in flight on the current connection. */
  private listening = 0;

  private async listen(client: pg.Client, channels: readonly string[]): Promise<void> {
    this.listening++;
    try {
      for (const channel of channels) await this.send(client, `LISTEN ${channel}`);
    } catch {
      // The connection failed under it: the reconnect LISTENs again.
    } finally {
      this.listening--;
      if (this.listening === 0 && this.client === client) for (const resolve of this.waiters.splice(0)) resolve();
    }
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({
      connectionString: this.url,
      application_name: 'crowdcrawl-bus',
      keepAlive: true,
      connectionTimeoutMillis: this.options.connectTimeoutMs ?? 10_000,
    });
    this.current = client;
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    client.on('notification', (n) => {
      if (this.current === client) this.subscribers.deliver(n.channel, this.hubId, n.payload ?? '', (e) => this.options.onHandlerError?.(e));
    });
    try {
      await client.connect();
    } catch (error) {
      this.lost(client, error as Error);
      return;
    }
    if (this.current !== client) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.delayMs = this.options.reconnectMinMs ?? 250;
    await this.listen(client, this.subscribers.channels());
    if (this.client !== client) return;
    if (this.down) {
      this.down = false;
      this.options.onStatus?.('back');
    }
    // Notices sent while there was no connection are lost: the views read the rows again.
    if (this.everConnected) this.subscribers.resync((e) => this.options.onHandlerError?.(e));
    this.everConnected = true;
  }

  private lost(client: pg.Client, error?: Error): void {
    if (this.current !== client) return;
    this.client = this.current = undefined;
    client.end().catch(() => {});
    if (this.closed) return;
    if (!this.down) {
      this.down = true;
      this.options.onStatus?.('lost', error);
    }
    const wait = this.delayMs;
    this.delayMs = Math.min(wait * 2, this.options.reconnectMaxMs ?? 10_000);
    this.retryTimer = this.clock.setTimeout(() => void this.connect(), wait);
  }
}
