// What the live feeds (the public board, the admin console's feed) share: they
// count events as they happen, in O(1) per page, and once a tick (about a
// second) send their listeners what changed since the last one. A Ticker keeps
// the listeners, the ids someone watches (a contributor's row, a crawl's
// detail) and the timers; the feed keeps what it counts and decides what a
// tick sends.
//
// Ticks keep their schedule: each is due one interval after the last one was
// due, not after it ran, so a busy event loop that runs one late does not push
// every later one back (setInterval's drift). A feed may also ask for a light
// tick soon (`soon()`): it runs within `promptMs` of the first ask and at most
// once per `promptMs`, however many events ask, so what it sends stays bounded.
import { systemClock, type Clock, type ClockTimer } from '../clock.ts';

export interface TickerOptions {
  /** Time between two ticks; 0 runs no timer (the feed's tick() is called by hand, as tests do). */
  intervalMs?: number;
  /** Called when the last watcher of an id stops, so the feed forgets what it last sent for it. */
  onUnwatched?: (id: string) => void;
  /** Time and timers (server/clock.ts); the system clock's by default. */
  clock?: Clock;
  /** What soon() runs; none: soon() does nothing. */
  prompt?: () => void;
  /** The most a prompt waits, and the least time between two prompts (0: soon() does nothing). */
  promptMs?: number;
}

export class Ticker<Listener> {
  private readonly listeners = new Set<Listener>();
  /** Ids someone is watching, with how many watchers. */
  private readonly watchers = new Map<string, number>();
  private readonly onUnwatched: (id: string) => void;
  private readonly clock: Clock;
  private readonly tick: () => void;
  private readonly intervalMs: number;
  private timer: ClockTimer | undefined;
  /** When the next tick is due (it may run later, never earlier). */
  private due = 0;
  private readonly prompt: (() => void) | undefined;
  private readonly promptMs: number;
  private promptTimer: ClockTimer | undefined;
  private lastPromptAt = Number.NEGATIVE_INFINITY;
  private closed = false;

  constructor(tick: () => void, options: TickerOptions = {}) {
    this.tick = tick;
    this.onUnwatched = options.onUnwatched ?? (() => {});
    this.clock = options.clock ?? systemClock;
    this.intervalMs = options.intervalMs ?? 1000;
    this.prompt = options.prompt;
    this.promptMs = options.promptMs ?? 0;
    // A feed never keeps the process alive: the hub's server does (the system clock's timers are unref'd).
    if (this.intervalMs > 0) this.schedule(this.clock.now() + this.intervalMs);
  }

  private schedule(due: number): void {
    this.due = due;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, due - this.clock.now()));
  }

  private fire(): void {
    if (this.closed) return;
    // The next one is due an interval after this one was due; ticks missed while the loop was busy are skipped, not bunched.
    let next = this.due + this.intervalMs;
    const now = this.clock.now();
    while (next <= now) next += this.intervalMs;
    this.schedule(next);
    this.tick();
  }

  /** Asks for the feed's light tick within promptMs (at most one per promptMs). */
  soon(): void {
    if (!this.prompt || this.promptMs <= 0 || this.promptTimer !== undefined || this.closed) return;
    const wait = Math.max(0, this.lastPromptAt + this.promptMs - this.clock.now());
    this.promptTimer = this.clock.setTimeout(() => {
      this.promptTimer = undefined;
      if (this.closed) return;
      this.lastPromptAt = this.clock.now();
      this.prompt!();
    }, wait);
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

  /** Stops the timers and drops the listeners. */
  close(): void {
    this.closed = true;
    this.clock.clearTimeout(this.timer);
    this.clock.clearTimeout(this.promptTimer);
    this.listeners.clear();
  }
}
