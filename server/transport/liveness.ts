// Heartbeats that cost by the work, not by the socket (issue 11). socket.io
// pings every socket every pingIntervalMs: with 2,000 idle workers at 5 s that
// was 400 ping/pong pairs a second, a third of the idle hub's CPU. What must
// be noticed fast is a silent worker that holds leases: its pages wait. So
// socket.io's own heartbeat runs at the slower pingIntervalMs (25 s), and a
// worker holding leases that the hub has heard nothing from (no packet at all)
// for silentWorkerProbeMs is sent a ping of its own; if nothing comes back
// within pingTimeoutMs it is disconnected, and its leases go back. A worker
// that sends results is never probed; one idle for a while is probed at most
// once per lease it takes.
//
// The probe is an engine.io ping packet: every socket.io client answers it
// (engine.io-client replies pong to any ping), so workers need no change.
// engine.io's sendPacket is not in its typings; test/server/transport/liveness.test.ts
// fails if a socket.io upgrade changes it.
import type { Socket } from 'socket.io';
import type { Clock, ClockTimer } from '../clock.ts';

export interface LivenessOptions {
  /** A worker holding leases and silent this long is pinged. */
  silentWorkerProbeMs: number;
  /** No packet within this long of the ping: disconnected. */
  pingTimeoutMs: number;
}

interface Watched {
  socket: Socket;
  /** Leases held now (the engine's count). */
  holding: () => number;
  lastHeardAt: number;
  /** When the unanswered probe went out (0: none out). */
  probedAt: number;
}

export class Liveness {
  private readonly clock: Clock;
  private readonly options: LivenessOptions;
  private readonly watched = new Map<string, Watched>();
  /** Workers sent leases since they last held none (or with a probe out): the only ones a sweep looks at. */
  private readonly holders = new Set<Watched>();
  private readonly timer: ClockTimer;

  constructor(clock: Clock, options: LivenessOptions) {
    this.clock = clock;
    this.options = options;
    // Checked a few times per probe window: the bound is silentWorkerProbeMs + pingTimeoutMs + one sweep.
    const sweepMs = Math.max(50, Math.min(1000, Math.floor(options.silentWorkerProbeMs / 5)));
    this.timer = clock.setInterval(() => this.sweep(), sweepMs);
  }

  /** Follows a worker's socket until it disconnects. */
  watch(id: string, socket: Socket, holding: () => number): void {
    const entry: Watched = { socket, holding, lastHeardAt: this.clock.now(), probedAt: 0 };
    this.watched.set(id, entry);
    // Every packet (events, acks, pongs) shows the worker is there.
    socket.conn.on('packet', () => {
      entry.lastHeardAt = this.clock.now();
      entry.probedAt = 0;
    });
    socket.once('disconnect', () => {
      this.watched.delete(id);
      this.holders.delete(entry);
    });
  }

  /** The worker was just sent leases. */
  granted(id: string): void {
    const entry = this.watched.get(id);
    if (entry) this.holders.add(entry);
  }

  private sweep(): void {
    const now = this.clock.now();
    const { silentWorkerProbeMs, pingTimeoutMs } = this.options;
    for (const entry of this.holders) {
      if (entry.probedAt > 0) {
        if (now - entry.probedAt >= pingTimeoutMs) entry.socket.disconnect(true);
        continue;
      }
      if (entry.holding() === 0) {
        this.holders.delete(entry);
        continue;
      }
      if (now - entry.lastHeardAt < silentWorkerProbeMs) continue;
      entry.probedAt = now;
      (entry.socket.conn as unknown as { sendPacket(type: 'ping'): void }).sendPacket('ping');
    }
  }

  close(): void {
    this.clock.clearInterval(this.timer);
    this.watched.clear();
    this.holders.clear();
  }
}
