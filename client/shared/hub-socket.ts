// How the hub's pages open their Socket.IO connections (the contributor page's
// worker and board sockets, the admin console's live feed), so every one
// behaves alike on a flaky network.
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import type { ProtocolError } from '../../shared/protocol.ts';

/** A connect_error as the hub sends it: a refused handshake carries `{ code, message }` in `data`. */
export type HubConnectError = Error & { data?: ProtocolError };

/**
 * A socket to `url` (the hub, or one of its namespaces) with the reconnection
 * every page uses: a connection of its own (forceNew: closing one of a page's
 * sockets must not close the others), WebSocket first with long-polling tried
 * too where WebSocket is blocked, and reconnect attempts from 0.5 s backing off
 * to at most 5 s. `options` adds to or overrides these (auth, autoConnect, ...).
 */
export function connectToHub(url: string, options: Partial<ManagerOptions & SocketOptions> = {}): Socket {
  return io(url, {
    forceNew: true,
    transports: ['websocket', 'polling'],
    tryAllTransports: true,
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
    ...options,
  });
}
