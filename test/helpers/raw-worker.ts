// A bare socket.io-client speaking the worker protocol by hand, for tests that
// need to misbehave (hold leases, send garbage, vanish) where the real worker
// loop would not.
import { randomBytes } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import { Agent, fetch as undiciFetch } from 'undici';
import { PROTOCOL_VERSION, RESULT_UPLOAD_PATH, WORKER_SECRET_HEADER, type ClientToServerEvents, type Lease, type PushedPage, type ServerToClientEvents, type Welcome } from '../../shared/protocol.ts';

export interface RawWorker {
  socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  welcome: Welcome;
  leases: Lease[];
  /** When each lease arrived (epoch ms), in the order of `leases`. */
  arrivals: number[];
  revoked: string[];
  /** Pages the hub pushed (`pages`, when the hello said pagePush), in order, and how many messages they came in. */
  pages: PushedPage[];
  pageMessages: number;
  /** Waits until at least n pushed pages have arrived in total. */
  waitForPages(n: number, timeoutMs?: number): Promise<PushedPage[]>;
  /** Waits until at least n leases have arrived in total. */
  waitForLeases(n: number, timeoutMs?: number): Promise<Lease[]>;
  relay(leaseId: string, secret?: string): Promise<Response>;
  /** POSTs `body` (JSON-encoded unless a string) to the result upload for `leaseId`. */
  upload(leaseId: string, body: unknown, secret?: string): Promise<Response>;
  /**
   * Resolves once the hub has answered two events sent now: by then every
   * dispatch round the hub had pending has run and what it sent has arrived
   * (one connection keeps order). With the hub on a fake clock, "no more
   * leases came" then means none will come until the clock moves.
   */
  quiet(): Promise<void>;
  close(): void;
}

export interface RawWorkerOptions {
  /** The source address to connect from (127.0.0.x: a distinct contributor). */
  localAddress?: string;
  /** An Origin header, as a browser sends one. */
  origin?: string;
}

export async function connectRawWorker(hubUrl: string, auth: Record<string, unknown> = {}, options: RawWorkerOptions = {}): Promise<RawWorker> {
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(hubUrl, {
    transports: ['websocket'],
    reconnection: false,
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    ...(options.origin ? { extraHeaders: { origin: options.origin } } : {}),
    auth: {
      protocolVersion: PROTOCOL_VERSION,
      kind: 'node',
      name: 'raw',
      clientId: randomBytes(12).toString('base64url'),
      capacity: 0,
      ...auth,
    },
  });
  // Relay requests and uploads come from the same address as the socket.
  const agent = options.localAddress ? new Agent({ connect: { localAddress: options.localAddress } }) : undefined;
  const httpFetch = (url: string, init: RequestInit = {}): Promise<Response> =>
    agent ? (undiciFetch(url, { ...(init as object), dispatcher: agent }) as unknown as Promise<Response>) : fetch(url, init);
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
  const pages: PushedPage[] = [];
  const pageWaiters: (() => void)[] = [];
  let pageMessages = 0;
  socket.on('pages', (batch) => {
    pages.push(...batch);
    pageMessages++;
    for (const w of pageWaiters.splice(0)) w();
  });
  const welcome = await new Promise<Welcome>((resolve, reject) => {
    socket.once('welcome', resolve);
    socket.once('connect_error', (error) => {
      agent?.close().catch(() => undefined);
      reject(error);
    });
  });
  return {
    socket,
    welcome,
    leases,
    arrivals,
    revoked,
    pages,
    get pageMessages() {
      return pageMessages;
    },
    waitForPages(n, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`only ${pages.length} of ${n} pushed pages arrived`)), timeoutMs);
        const check = () => {
          if (pages.length >= n) {
            clearTimeout(deadline);
            resolve(pages);
          } else pageWaiters.push(check);
        };
        check();
      });
    },
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
      return httpFetch(`${hubUrl}/relay/${encodeURIComponent(leaseId)}`, { headers: { [WORKER_SECRET_HEADER]: secret } });
    },
    upload(leaseId, body, secret = welcome.workerSecret) {
      return httpFetch(`${hubUrl}${RESULT_UPLOAD_PATH}/${encodeURIComponent(leaseId)}`, {
        method: 'POST',
        headers: { [WORKER_SECRET_HEADER]: secret, 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    },
    async quiet() {
      for (let i = 0; i < 2; i++) await socket.emitWithAck('spec:get', { crawlId: 'quiet' });
    },
    close() {
      socket.disconnect();
      agent?.close().catch(() => undefined);
    },
  };
}
