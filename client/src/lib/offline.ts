// When the browser says the network is gone, close the connection at once, so
// the worker drops its pages and the socket starts reconnecting, rather than
// waiting for heartbeats to time out. engine.io-client means to do this itself,
// but with two connections on a page it closes only every other one (its
// 'offline' handler removes itself from the array it is iterating over), so the
// page does it for each of its sockets.
import type { Socket } from 'socket.io-client';

export function closeWhenOffline(socket: Socket): () => void {
  const onOffline = () => {
    const engine = socket.io.engine;
    if (engine && (engine.readyState === 'open' || engine.readyState === 'opening')) engine.close();
  };
  addEventListener('offline', onOffline);
  return () => removeEventListener('offline', onOffline);
}
