// Helpers for the relay tests: a node:http server on 127.0.0.1 that records
// what it was asked, and a guard that makes any connection to a non-loopback
// address fail inside this process, so a bug in the relay's address checks
// fails a test instead of sending traffic off the machine.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface LocalServer {
  port: number;
  /** http://127.0.0.1:PORT */
  origin: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startLocalServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<LocalServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the test server has no port');
  return {
    port: address.port,
    origin: `http://127.0.0.1:${address.port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (a server was there a moment ago). */
export async function closedPort(): Promise<number> {
  const server = await startLocalServer((_req, res) => res.end());
  await server.close();
  return server.port;
}

function isLoopbackIp(host: string): boolean {
  if (net.isIPv4(host)) return host.startsWith('127.');
  if (net.isIPv6(host)) return host === '::1' || host.toLowerCase().startsWith('::ffff:127.');
  return false;
}

export interface LoopbackGuard {
  /** Hosts a connection was attempted to and refused by the guard. */
  violations: string[];
  restore(): void;
}

/**
 * Until restored, every client socket in this process may connect only to a
 * loopback IP address (the relay always connects by address, never by name).
 * Anything else fails with an error and is recorded in `violations`.
 */
export function guardLoopbackOnly(): LoopbackGuard {
  const violations: string[] = [];
  const original = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
    // net.connect() passes its already-normalized [options, callback] array as the first argument.
    const first = Array.isArray(args[0]) ? args[0][0] : args[0];
    let host: string | undefined;
    if (typeof first === 'object' && first !== null) {
      const options = first as { host?: string; path?: string };
      host = options.path ? undefined : (options.host ?? 'localhost');
    } else {
      host = typeof args[1] === 'string' ? args[1] : 'localhost';
    }
    if (host !== undefined && !isLoopbackIp(host)) {
      violations.push(host);
      const refused = new Error(`test guard: refused a connection to ${host}`);
      process.nextTick(() => this.destroy(refused));
      return this;
    }
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof original;
  return {
    violations,
    restore: () => {
      net.Socket.prototype.connect = original;
    },
  };
}
