// How the live namespaces (/board and /admin) are served: a hook checks each
// handshake, a connection gets its handlers, every inbound event must carry an
// acknowledgement callback (its answer goes there), an event the namespace does
// not know is refused, and a handler that throws answers INTERNAL and is logged
// instead of taking the hub down. Each namespace says only what differs: who
// may connect, what a new socket is sent, which events it answers.
import type { Namespace, Socket } from 'socket.io';
import { ErrorCode } from '../../shared/protocol.ts';
import { fail, hasAck, refuseUnknownEvents } from './socket-errors.ts';

/** Handles one event: its payload (unchecked) and the ack its answer goes to. */
export type AckHandler = (payload: unknown, ack: (reply: unknown) => void) => void | Promise<void>;

export interface Connection {
  /** The events this socket answers, by name. */
  events: Record<string, AckHandler>;
  /** Called when the socket goes. */
  disconnect?: () => void;
}

export interface NamespaceOptions<S> {
  /** Names the namespace in log lines ("board", "admin"). */
  name: string;
  /** Checks a handshake: nothing lets it in, an error (see connectError) refuses it. */
  auth(socket: S): Error | undefined;
  /** Sets up a new socket (sends it what it starts from) and returns its handlers. */
  connect(socket: S): Connection;
  /** Where a handler that threw is reported. */
  log: (line: string) => void;
}

/** Serves `nsp` as `options` says. `S` is the namespace's typed socket. */
export function serveNamespace<S>(nsp: Namespace, options: NamespaceOptions<S>): void {
  nsp.use((socket, next) => next(options.auth(socket as unknown as S)));

  nsp.on('connection', (socket: Socket) => {
    const connection = options.connect(socket as unknown as S);
    for (const [event, handler] of Object.entries(connection.events)) {
      // The ack is the last argument whatever came before it: extra arguments must not leave a sender unanswered.
      socket.on(event, async (...args: unknown[]) => {
        const ack = args.at(-1);
        if (!hasAck(socket, event, ack)) return;
        if (args.length !== 2) {
          ack(fail(ErrorCode.BAD_REQUEST, `${event}: send one payload and an acknowledgement callback`));
          return;
        }
        const payload = args[0];
        try {
          await handler(payload, ack);
        } catch (error) {
          options.log(`${options.name}: error handling ${event}: ${(error as Error).stack ?? String(error)}`);
          ack(fail(ErrorCode.INTERNAL, 'the hub failed to handle this event'));
        }
      });
    }
    refuseUnknownEvents(socket, new Set(Object.keys(connection.events)));
    if (connection.disconnect) socket.on('disconnect', connection.disconnect);
  });
}

/**
 * The one room a socket follows at a time (a contributor's row, a crawl's
 * detail), with the feed's watch behind it, so the feed only works for what
 * someone is looking at.
 */
export class FollowedRoom {
  private readonly socket: Socket;
  private unwatch: (() => void) | undefined;
  room: string | undefined;

  constructor(socket: unknown) {
    this.socket = socket as Socket;
  }

  /** Leaves the room followed so far, joins `room` and starts watching with `watch` (which returns how to stop). */
  follow(room: string, watch: () => () => void): void {
    this.stop();
    this.room = room;
    void this.socket.join(room);
    this.unwatch = watch();
  }

  stop(): void {
    this.unwatch?.();
    this.unwatch = undefined;
    if (this.room) void this.socket.leave(this.room);
    this.room = undefined;
  }
}
