// The board's Socket.IO namespace (/board): anyone may subscribe without being a
// worker. A subscriber gets one snapshot at connect, then every delta the board
// broadcasts. Inbound events are few and checked like the worker side's: a known
// event, an ack function (server/transport/namespace.ts), a payload the schema accepts.
import type { Namespace, Server, Socket } from 'socket.io';
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
import { Board, type BoardOptions } from '../live/board.ts';
import type { Engine } from '../engine/engine.ts';
import { connectError, fail } from './socket-errors.ts';
import { FollowedRoom, serveNamespace } from './namespace.ts';

type BoardNamespace = Namespace<BoardClientToServerEvents, BoardServerToClientEvents>;
type BoardSocket = Socket<BoardClientToServerEvents, BoardServerToClientEvents>;

/** Sockets watching one contributor's row, by contributor id (for `board:self`). */
const roomOf = (id: string) => `self:${id}`;

/** Starts the board (its totals read from the engine's storage) and serves it on the /board namespace of `io`. */
export async function attachBoard(io: Server<ClientToServerEvents, ServerToClientEvents>, core: Engine, options: BoardOptions = {}): Promise<Board> {
  const board = await Board.create(core, options);
  const nsp = io.of(BOARD_NAMESPACE) as unknown as BoardNamespace;

  // One encoded packet per broadcast, whatever the number of subscribers.
  board.subscribe({
    delta: (delta) => nsp.emit('board:delta', delta),
    self: (row) => nsp.to(roomOf(row.id)).emit('board:self', row),
  });

  serveNamespace<BoardSocket>(nsp as unknown as Namespace, {
    name: 'board',
    log: (line) => core.log.error(line),
    auth(socket) {
      const hello = boardHelloSchema.safeParse(socket.handshake.auth ?? {});
      const version = hello.success ? hello.data.protocolVersion : undefined;
      if (version === PROTOCOL_VERSION) return undefined;
      return connectError(ErrorCode.PROTOCOL_MISMATCH, `this hub speaks protocol ${PROTOCOL_VERSION}, the page ${String(version)}: reload the page`);
    },
    connect(socket) {
      socket.emit('board:snapshot', board.snapshot());
      const followed = new FollowedRoom(socket);
      return {
        events: {
          'board:identify': async (payload, ack) => {
            const parsed = boardIdentifySchema.safeParse(payload);
            if (!parsed.success) {
              ack(fail(ErrorCode.BAD_REQUEST, `board:identify: ${describeIssues(parsed.error)}`));
              return;
            }
            const { id, self } = await board.identify(parsed.data.clientId, parsed.data.name);
            // Gone while storage answered: nothing to follow (its disconnect has run).
            if (socket.disconnected) return;
            if (followed.room !== roomOf(id)) followed.follow(roomOf(id), () => board.watch(id));
            ack({ ok: true, id, self });
          },
          'board:resync': (_payload, ack) => {
            socket.emit('board:snapshot', board.snapshot());
            ack({ ok: true });
          },
        },
        disconnect: () => followed.stop(),
      };
    },
  });

  return board;
}
