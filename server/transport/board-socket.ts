// The board's Socket.IO namespace (/board): anyone may subscribe without being a
// worker. A subscriber gets one snapshot at connect, then every delta the board
// broadcasts. Inbound events are few and checked like the worker side's: a known
// event, an ack function, a payload the schema accepts.
import type { Namespace, Server, Socket } from 'socket.io';
import type { DatabaseSync } from 'node:sqlite';
import {
  BOARD_NAMESPACE,
  ErrorCode,
  PROTOCOL_VERSION,
  describeIssues,
  type ClientToServerEvents,
  type ServerToClientEvents,
} from '../../shared/protocol.ts';
import {
  boardHelloSchema,
  boardIdentifySchema,
  type BoardClientToServerEvents,
  type BoardServerToClientEvents,
} from '../../shared/board-protocol.ts';
import { ContributorStore } from '../storage/contributors.ts';
import { Board, type BoardOptions } from '../live/board.ts';
import type { Engine } from '../engine/engine.ts';
import { connectError, fail, hasAck, refuseUnknownEvents } from './socket-errors.ts';

type BoardNamespace = Namespace<BoardClientToServerEvents, BoardServerToClientEvents>;
type BoardSocket = Socket<BoardClientToServerEvents, BoardServerToClientEvents>;

const KNOWN_EVENTS = new Set(['board:identify', 'board:resync']);
/** Sockets watching one contributor's row, by contributor id (for `board:self`). */
const roomOf = (id: string) => `self:${id}`;

/** Starts the board and serves it on the /board namespace of `io`. */
export function attachBoard(io: Server<ClientToServerEvents, ServerToClientEvents>, core: Engine, db: DatabaseSync, options: BoardOptions = {}): Board {
  const board = new Board(core, new ContributorStore(db), options);
  const nsp = io.of(BOARD_NAMESPACE) as unknown as BoardNamespace;

  // One encoded packet per broadcast, whatever the number of subscribers.
  board.subscribe({
    delta: (delta) => nsp.emit('board:delta', delta),
    self: (row) => nsp.to(roomOf(row.id)).emit('board:self', row),
  });

  nsp.use((socket, next) => {
    const hello = boardHelloSchema.safeParse(socket.handshake.auth ?? {});
    const version = hello.success ? hello.data.protocolVersion : undefined;
    if (version !== PROTOCOL_VERSION) {
      next(connectError(ErrorCode.PROTOCOL_MISMATCH, `this hub speaks protocol ${PROTOCOL_VERSION}, the page ${String(version)}: reload the page`));
      return;
    }
    next();
  });

  nsp.on('connection', (socket: BoardSocket) => {
    socket.emit('board:snapshot', board.snapshot());
    let unwatch: (() => void) | undefined;
    let watchedRoom: string | undefined;

    const withAck = (event: string, handler: (payload: unknown, ack: (reply: unknown) => void) => void) => {
      (socket as unknown as Socket).on(event, (payload: unknown, ack: unknown) => {
        if (!hasAck(socket as unknown as Socket, event, ack)) return;
        try {
          handler(payload, ack);
        } catch (error) {
          core.log(`board: error handling ${event}: ${(error as Error).stack ?? String(error)}`);
          ack(fail(ErrorCode.INTERNAL, 'the hub failed to handle this event'));
        }
      });
    };

    withAck('board:identify', (payload, ack) => {
      const parsed = boardIdentifySchema.safeParse(payload);
      if (!parsed.success) {
        ack(fail(ErrorCode.BAD_REQUEST, `board:identify: ${describeIssues(parsed.error)}`));
        return;
      }
      const { id, self } = board.identify(parsed.data.clientId, parsed.data.name);
      if (watchedRoom !== roomOf(id)) {
        unwatch?.();
        if (watchedRoom) void socket.leave(watchedRoom);
        watchedRoom = roomOf(id);
        void socket.join(watchedRoom);
        unwatch = board.watch(id);
      }
      ack({ ok: true, id, self });
    });

    withAck('board:resync', (_payload, ack) => {
      socket.emit('board:snapshot', board.snapshot());
      ack({ ok: true });
    });

    refuseUnknownEvents(socket as unknown as Socket, KNOWN_EVENTS);

    socket.on('disconnect', () => unwatch?.());
  });

  return board;
}
