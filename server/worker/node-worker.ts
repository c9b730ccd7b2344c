// The Node worker: the same worker loop as a browser tab, with socket.io-client
// in Node, undici's fetch and cheerio for extraction. For edge machines without
// a browser, and for fast tests.
import { randomBytes } from 'node:crypto';
import { io } from 'socket.io-client';
import { Agent } from 'undici';
import { PROTOCOL_VERSION, type Hello, type WorkerKind } from '../../shared/protocol.ts';
import { FINAL_REFUSALS, WorkerLoop, type ExtractFn, type WorkerSocket } from '../../shared/worker/loop.ts';
import { extractHtml } from '../extract/cheerio.ts';
import { requestFetch } from './request-fetch.ts';

export interface NodeWorkerOptions {
  hubUrl: string;
  name?: string;
  concurrency?: number;
  minDelayMs?: number;
  /** A stable id for bans and all-time totals; random per process by default. */
  clientId?: string;
  kind?: WorkerKind;
  /** A worker token from the hub's operator: this worker's results are trusted without checks. */
  token?: string;
  /** Take leases' pages pushed over the socket (default true); false: ask the relay for each (issue 11). */
  pagePush?: boolean;
  /** The local address to connect from (a machine with several; tests use 127.0.0.x to be distinct contributors). */
  localAddress?: string;
  /** The extraction function (cheerio by default); tests swap in a dishonest one. */
  extract?: ExtractFn;
}

export interface NodeWorker {
  readonly loop: WorkerLoop;
  readonly socket: WorkerSocket;
  /** Resolves once the hub has welcomed the worker. */
  ready(): Promise<void>;
  stop(): Promise<void>;
}

export function startNodeWorker(options: NodeWorkerOptions): NodeWorker {
  const concurrency = options.concurrency ?? 4;
  const hello: Hello = {
    protocolVersion: PROTOCOL_VERSION,
    kind: options.kind ?? 'node',
    name: options.name ?? `node-${randomBytes(3).toString('hex')}`,
    clientId: options.clientId ?? randomBytes(12).toString('base64url'),
    capacity: concurrency,
    ...(options.token ? { token: options.token } : {}),
    // The hub pushes each lease's page over the socket: no relay request per page (issue 11).
    pagePush: options.pagePush ?? true,
  };
  // One agent for the relay (from the worker's own address when it has one), kept-alive connections for the pages in flight.
  const agent = new Agent({ ...(options.localAddress ? { connect: { localAddress: options.localAddress } } : {}) });
  const socket: WorkerSocket = io(options.hubUrl, {
    autoConnect: false,
    auth: { ...hello },
    transports: ['websocket'],
    reconnectionDelay: 250,
    reconnectionDelayMax: 2000,
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
  });
  const loop = new WorkerLoop({
    socket,
    hubUrl: options.hubUrl,
    concurrency,
    minDelayMs: options.minDelayMs ?? 0,
    extract: options.extract ?? ((html, spec, pageUrl, depth) => extractHtml(html, spec, pageUrl, { depth })),
    fetch: requestFetch(agent),
  });
  loop.start();
  let stopped: Promise<void> | undefined;
  return {
    loop,
    socket,
    ready: () =>
      new Promise((resolve, reject) => {
        if (loop.welcome) return resolve();
        const off = loop.onChange(() => {
          if (loop.welcome) {
            off();
            resolve();
          } else if (loop.state === 'outdated' || loop.state === 'banned' || FINAL_REFUSALS.has(loop.lastError?.code ?? '')) {
            off();
            reject(new Error(loop.lastError?.message ?? loop.state));
          }
        });
      }),
    // Once, however often it is asked (a second agent.close() would throw).
    stop: () =>
      (stopped ??= (async () => {
        await loop.stop();
        await agent.close();
      })()),
  };
}
