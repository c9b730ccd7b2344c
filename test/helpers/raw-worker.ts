// A bare socket.io-client speaking the worker protocol by hand, for tests that
// need to misbehave (hold leases, send garbage, vanish) where the real worker
// loop would not.
import { randomBytes } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import { PROTOCOL_VERSION, WORKER_SECRET_HEADER, type ClientToServerEvents, type Lease, type ServerToClientEvents, type Welcome } from '../../shared/protocol.ts';

export interface RawWorker {
  socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  welcome: Welcome;
  leases: Lease[];
  /** When each lease arrived (epoch ms), in the order of `leases`. */
  arrivals: number[];
  revoked: string[];
  /** Waits until at least n leases have arrived in total. */
  waitForLeases(n: number, timeoutMs?: number): Promise<Lease[]>;
  relay(leaseId: string, secret?: string): Promise<Response>;
  /**
   * Resolves once the hub has answered two events sent now: by then every
   * dispatch round the hub had pending has run and what it sent has arrived
   * (one connection keeps order). With the hub on a fake clock, "no more
   * leases came" then means none will come until the clock moves.
   */
  quiet(): Promise<void>;
  close(): void;
}

export async function connectRawWorker(hubUrl: string, auth: Record<string, unknown> = {}): Promise<RawWorker> {
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(hubUrl, {
    transports: ['websocket'],
    reconnection: false,
    auth: {
      protocolVersion: PROTOCOL_VERSION,
      kind: 'node',
      name: 'raw',
      clientId: randomBytes(12).toString('base64url'),
      capacity: 0,
      ...auth,
    },
  });
  const leases: Lease[] = [];
  const arrivals: number[] = [];
  const revoked: string[] = [];
  const waiters: (() => void)[] = [];
  socket.on('leases', (batch) => {
    leases.push(...batch);
    for (const _ of batch) arrivals.push(Date.now());
    for (const w of waiters.splice(0)) w();
  });
  socket.on('leases:revoked', (ids) => revoked.push(...ids));
  const welcome = await new Promise<Welcome>((resolve, reject) => {
    socket.once('welcome', resolve);
    socket.once('connect_error', (error) => reject(error));
  });
  return {
    socket,
    welcome,
    leases,
    arrivals,
    revoked,
    waitForLeases(n, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`only ${leases.length} of ${n} leases arrived`)), timeoutMs);
        const check = () => {
          if (leases.length >= n) {
            clearTimeout(deadline);
            resolve(leases);
          } else waiters.push(check);
        };
        check();
      });
    },
    relay(leaseId, secret = welcome.workerSecret) {
      return fetch(`${hubUrl}/relay/${encodeURIComponent(leaseId)}`, { headers: { [WORKER_SECRET_HEADER]: secret } });
    },
    async quiet() {
      for (let i = 0; i < 2; i++) await socket.emitWithAck('spec:get', { crawlId: 'quiet' });
    },
    close() {
      socket.disconnect();
    },
  };
}
