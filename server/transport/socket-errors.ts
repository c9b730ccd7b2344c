// How the hub's Socket.IO namespaces (workers, /board, /admin) refuse things,
// in one place so every client sees the same shapes: a `{ ok: false, error }`
// reply, a handshake refusal whose `data` carries the code, and a `hub:error`
// event when there is no ack to answer with.
import type { Socket } from 'socket.io';
import { ErrorCode } from '../../shared/errors.ts';
import type { ProtocolError } from '../../shared/protocol.ts';

/** The `{ ok: false, error }` reply of a refused event. */
export function fail(code: ErrorCode, message: string): { ok: false; error: ProtocolError } {
  return { ok: false, error: { code, message } };
}

/** Refuses a handshake: socket.io hands `data` to the client's connect_error listener. */
export function connectError(code: ErrorCode, message: string): Error {
  const error = new Error(message) as Error & { data: ProtocolError };
  error.data = { code, message };
  return error;
}

/**
 * True when the sender gave an acknowledgement callback. Every inbound event
 * needs one (its answer goes there); without it the sender gets a `hub:error`.
 */
export function hasAck(socket: Socket, event: string, ack: unknown): ack is (reply: unknown) => void {
  if (typeof ack === 'function') return true;
  socket.emit('hub:error', { code: ErrorCode.BAD_REQUEST, message: `"${event}" needs an acknowledgement callback` });
  return false;
}

/** Answers every event not in `known` with UNKNOWN_EVENT: in its ack when it has one, else as a `hub:error`. */
export function refuseUnknownEvents(socket: Socket, known: ReadonlySet<string>): void {
  socket.onAny((event: string, ...args: unknown[]) => {
    if (known.has(event)) return;
    const error: ProtocolError = { code: ErrorCode.UNKNOWN_EVENT, message: `unknown event "${String(event).slice(0, 64)}"` };
    const ack = args.at(-1);
    if (typeof ack === 'function') ack(fail(error.code, error.message));
    else socket.emit('hub:error', error);
  });
}
