// The worker side of the hub's Socket.IO server. Every inbound event is checked:
// it must be a known event with an ack function and a payload its schema
// accepts; anything else gets a { code, message } error and changes nothing.
import type { Server, Socket } from 'socket.io';
import type { z } from 'zod';
import {
  ErrorCode,
  PROTOCOL_VERSION,
  capacitySchema,
  describeIssues,
  failureSchema,
  helloSchema,
  MAX_RESULTS_PER_BATCH,
  releaseSchema,
  resultSchema,
  resultsSchema,
  specRequestSchema,
  type ClientToServerEvents,
  type Lease,
  type Reply,
  type ResultPayload,
  type ResultReply,
  type ServerToClientEvents,
} from '../../shared/protocol.ts';
import type { Engine } from '../engine/engine.ts';
import { checkNickname } from '../../shared/names.ts';
import { namesFor } from '../live/names.ts';
import { connectError, fail, hasAck } from './socket-errors.ts';
import { AddressSlots, originAllowed, type EventLimiter } from './edge-limits.ts';
import { Liveness, type LivenessOptions } from './liveness.ts';

export interface WorkerSocketOptions {
  /** The largest message socket.io reads (its maxHttpBufferSize), told to workers in the welcome. */
  maxMessageBytes: number;
  maxSocketsPerAddress: number;
  /** Origins besides the hub's own whose pages may connect (normalised: scheme://host[:port]). */
  allowedOrigins: readonly string[];
  /** Shared with the result upload, so uploads count against the same budgets. */
  limiter: EventLimiter;
  /** How fast a silent worker holding leases is noticed (server/transport/liveness.ts). */
  liveness: LivenessOptions;
}

type WorkerSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, { workerId: string }>;

const KNOWN_EVENTS = new Set(['capacity', 'spec:get', 'result', 'results', 'failure', 'release']);

/** What a message costs against the rate limits: one per result it carries (read before validation, so capped). */
function eventPoints(event: string, payload: unknown): number {
  if (event !== 'results') return 1;
  const results = (payload as { results?: unknown } | null)?.results;
  return Array.isArray(results) ? Math.min(MAX_RESULTS_PER_BATCH, Math.max(1, results.length)) : 1;
}

export function attachWorkerSockets(io: Server<ClientToServerEvents, ServerToClientEvents>, engine: Engine, options: WorkerSocketOptions): { close(): void } {
  const slots = new AddressSlots(options.maxSocketsPerAddress);
  const liveness = new Liveness(engine.clock, options.liveness);
  const allowedOrigins = new Set(options.allowedOrigins);
  const { limiter } = options;
  // Sent, not polled: every connected worker learns a crawl's new spec version at once.
  engine.crawls.on('specChanged', (crawl) => io.emit('spec:changed', { crawlId: crawl.id, specVersion: crawl.specVersion, spec: crawl.spec }));
  io.use((socket, next) => {
    if (!originAllowed(socket.handshake.headers, allowedOrigins)) {
      next(connectError(ErrorCode.ORIGIN_NOT_ALLOWED, `workers connect from this hub's own page, not from ${String(socket.handshake.headers.origin).slice(0, 200)}`));
      return;
    }
    const auth = socket.handshake.auth as Record<string, unknown> | undefined;
    const version = auth?.protocolVersion;
    if (version !== PROTOCOL_VERSION) {
      next(connectError(ErrorCode.PROTOCOL_MISMATCH, `this hub speaks protocol ${PROTOCOL_VERSION}, the worker ${String(version)}: reload the page or update the worker`));
      return;
    }
    // Nicknames are shown to everyone: an invisible or unreadable one is refused with its own code (shared/names.ts).
    const nickname = typeof auth?.name === 'string' ? checkNickname(auth.name) : undefined;
    if (nickname && !nickname.ok) {
      next(connectError(ErrorCode.NAME_INVALID, nickname.message));
      return;
    }
    const hello = helloSchema.safeParse(auth);
    if (!hello.success) {
      next(connectError(ErrorCode.BAD_REQUEST, `bad handshake: ${describeIssues(hello.error)}`));
      return;
    }
    if (engine.isBanned(hello.data.clientId, socket.handshake.address)) {
      next(connectError(ErrorCode.BANNED, 'this browser or its address is banned from this hub'));
      return;
    }
    if (hello.data.token !== undefined && !engine.trust.tokenValid(hello.data.token)) {
      next(connectError(ErrorCode.WORKER_TOKEN_UNKNOWN, 'this worker token is not one the hub issued (or it was revoked); connect without it to contribute untrusted'));
      return;
    }
    // Last, so a refused handshake holds no slot: the slot is given back when the connection goes.
    const address = socket.handshake.address;
    const giveBack = slots.take(address);
    if (!giveBack) {
      next(connectError(ErrorCode.TOO_MANY_SOCKETS, `this address already has ${options.maxSocketsPerAddress} worker connections open`));
      return;
    }
    socket.once('disconnect', giveBack);
    socket.conn.once('close', giveBack);
    (socket.data as { hello?: unknown }).hello = hello.data;
    next();
  });

  io.on('connection', (raw) => {
    const socket = raw as unknown as WorkerSocket;
    const hello = (socket.data as unknown as { hello: z.output<typeof helloSchema> }).hello;
    // Leases granted while results are being committed ride in those results' ack
    // (one message instead of two); anything not picked up goes out on its own in the next turn.
    let resultsInFlight = 0;
    let heldLeases: Lease[] = [];
    let flushScheduled = false;
    const flushLeases = () => {
      flushScheduled = false;
      if (heldLeases.length === 0) return;
      const leases = heldLeases;
      heldLeases = [];
      socket.emit('leases', leases);
    };
    const sendLeases = (leases: Lease[]) => {
      liveness.granted(session.id);
      if (resultsInFlight === 0) {
        socket.emit('leases', leases);
        return;
      }
      heldLeases.push(...leases);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushLeases);
      }
    };
    const takeHeldLeases = (): { leases?: Lease[] } => {
      if (heldLeases.length === 0) return {};
      const leases = heldLeases;
      heldLeases = [];
      return { leases };
    };
    const pagePush = hello.pagePush === true && engine.pagePush;
    const session = engine.joinWorker({
      // Unique on the board by skeleton: a second "alice" is shown as "alice (2)" (server/live/names.ts).
      name: namesFor(engine).claim(hello.clientId, hello.name),
      kind: hello.kind,
      clientId: hello.clientId,
      capacity: hello.capacity,
      address: socket.handshake.address,
      operatorTrusted: hello.token !== undefined,
      tokenId: hello.token !== undefined ? engine.trust.tokenId(hello.token) : null,
      send: sendLeases,
      revoke: (ids: string[]) => socket.emit('leases:revoked', ids),
      // Page push (issue 11): a worker that asks for it gets its leases' pages over this socket (server/engine/page-push.ts).
      pushPages: pagePush ? (pages) => socket.emit('pages', pages) : undefined,
      disconnect: () => socket.disconnect(true),
    });
    socket.data.workerId = session.id;
    liveness.watch(session.id, socket as unknown as Socket, () => engine.leasesHeldBy(session.id));
    socket.emit('welcome', {
      workerId: session.id,
      workerSecret: session.secret,
      protocolVersion: PROTOCOL_VERSION,
      leaseTtlMs: engine.leaseTtlMs,
      name: session.name,
      maxMessageBytes: options.maxMessageBytes,
      ...(pagePush ? { pagePush: true } : {}),
    });

    // Every event counts against the socket's and the address's budgets before anything reads it
    // (socket.use runs before the handlers; onAny listeners would run before it, so unknown events are refused here too).
    (socket as unknown as Socket).use(([event, ...args], next) => {
      void limiter.take(session.id, socket.handshake.address, eventPoints(String(event), args[0])).then((verdict) => {
        const ack = args.at(-1);
        const refuse = (code: ErrorCode, message: string) => {
          if (typeof ack === 'function') ack(fail(code, message));
          else socket.emit('hub:error', { code, message });
        };
        const name = String(event).slice(0, 64);
        if (verdict !== 'ok') {
          refuse(ErrorCode.RATE_LIMITED, `"${name}" refused: ${limiter.describe()}`);
          if (verdict === 'disconnect') {
            engine.log.warn({ worker: session.name, address: socket.handshake.address }, 'a worker kept flooding events past its rate limit; disconnected');
            socket.disconnect(true);
          }
          return;
        }
        if (!KNOWN_EVENTS.has(event)) refuse(ErrorCode.UNKNOWN_EVENT, `unknown event "${name}"`);
        else next();
      });
    });

    /** Wraps a handler: checks the ack and the payload, turns exceptions into error replies. */
    const on = <S extends z.ZodType, R extends object>(
      event: string,
      schema: S,
      handler: (payload: z.output<S>) => Reply<R> | Promise<Reply<R>>,
    ) => {
      // The ack is the last argument whatever came before it: extra arguments must not leave a sender unanswered.
      (socket as unknown as Socket).on(event, async (...args: unknown[]) => {
        const ack = args.at(-1);
        if (!hasAck(socket as unknown as Socket, event, ack)) return;
        if (args.length !== 2) {
          ack(fail(ErrorCode.BAD_REQUEST, `${event}: send one payload and an acknowledgement callback`));
          return;
        }
        const payload = args[0];
        const parsed = schema.safeParse(payload);
        if (!parsed.success) {
          ack(fail(ErrorCode.BAD_REQUEST, `${event}: ${describeIssues(parsed.error)}`));
          return;
        }
        try {
          ack(await handler(parsed.data));
        } catch (error) {
          engine.log.error({ err: error, worker: session.name }, `error handling ${event}`);
          ack(fail(ErrorCode.INTERNAL, 'the hub failed to handle this event'));
        }
      });
    };

    on('capacity', capacitySchema, ({ capacity }) => {
      engine.setCapacity(session, capacity);
      return { ok: true };
    });

    on('spec:get', specRequestSchema, ({ crawlId, specVersion }) => {
      const crawl = engine.crawls.get(crawlId);
      if (!crawl) return fail(ErrorCode.CRAWL_UNKNOWN, `no crawl with id "${crawlId}"`);
      const version = crawl.specFor(specVersion ?? crawl.specVersion);
      if (!version) return fail(ErrorCode.SPEC_VERSION_UNKNOWN, `crawl ${crawlId} has no spec version ${String(specVersion)}`);
      return { ok: true, crawlId: crawl.id, specVersion: version.version, spec: version.spec };
    });

    /** One result: an error in it is its own reply, never the batch's. */
    const submit = async (payload: ResultPayload): Promise<ResultReply> => {
      try {
        return await engine.submitResult(session, payload);
      } catch (error) {
        engine.log.error({ err: error, worker: session.name }, 'error handling a result');
        return fail(ErrorCode.INTERNAL, 'the hub failed to handle this result');
      }
    };
    on('result', resultSchema, submit);
    // Each result is taken, checked and committed on its own (a refused one leaves the others be);
    // the ack goes once every one of them has its reply.
    on('results', resultsSchema, async ({ results }) => {
      resultsInFlight++;
      try {
        const replies = await Promise.all(results.map(submit));
        engine.dispatchNow();
        return { ok: true, replies, ...takeHeldLeases() };
      } finally {
        resultsInFlight--;
      }
    });
    on('failure', failureSchema, (payload) => engine.workerFailure(session, payload));
    on('release', releaseSchema, ({ leaseIds }) => engine.release(session, leaseIds));

    socket.on('disconnect', () => engine.workerLeft(session));
  });
  return { close: () => liveness.close() };
}
