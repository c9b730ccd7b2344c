// What the live feeds (the public board, the admin console's feed) share: they
// count events as they happen, in O(1) per page, and once a tick (about a
// second) send their listeners what changed since the last one. A Ticker keeps
// the listeners, the ids someone watches (a contributor's row, a crawl's
// detail) and the timer; the feed keeps what it counts and decides what a tick
// sends.

export interface TickerOptions {
  /** Time between two ticks; 0 runs no timer (the feed's tick() is called by hand, as tests do). */
  intervalMs?: number;
  /** Called when the last watcher of an id stops, so the feed forgets what it last sent for it. */
  onUnwatched?: (id: string) => void;
}

export class Ticker<Listener> {
  private readonly listeners = new Set<Listener>();
  /** Ids someone is watching, with how many watchers. */
  private readonly watchers = new Map<string, number>();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly onUnwatched: (id: string) => void;

  constructor(tick: () => void, options: TickerOptions = {}) {
    this.onUnwatched = options.onUnwatched ?? (() => {});
    const intervalMs = options.intervalMs ?? 1000;
    if (intervalMs > 0) {
      this.timer = setInterval(tick, intervalMs);
      // A feed never keeps the process alive: the hub's server does.
      this.timer.unref();
    }
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get hasListeners(): boolean {
    return this.listeners.size > 0;
  }

  /** Calls `send` for each listener (one packet per broadcast however many sockets listen). */
  broadcast(send: (listener: Listener) => void): void {
    for (const listener of this.listeners) send(listener);
  }

  /** Counts a watcher of `id`; returns the function that stops watching (once, however often it is called). */
  watch(id: string): () => void {
    this.watchers.set(id, (this.watchers.get(id) ?? 0) + 1);
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      const n = (this.watchers.get(id) ?? 1) - 1;
      if (n > 0) this.watchers.set(id, n);
      else {
        this.watchers.delete(id);
        this.onUnwatched(id);
      }
    };
  }

  /** The ids watched now. */
  watched(): IterableIterator<string> {
    return this.watchers.keys();
  }

  isWatched(id: string): boolean {
    return this.watchers.has(id);
  }

  /** Stops the timer and drops the listeners. */
  close(): void {
    clearInterval(this.timer);
    this.listeners.clear();
  }
}
