// The /admin Socket.IO namespace: the console's live feed. Its middleware lets
// in only the operator: a live console session cookie (from a page of this hub:
// the Origin must name it) or the admin token in `auth.token`. A socket whose
// session ends (sign-out, expiry) is disconnected at once. Wrong tokens count
// against the one per-address limit of admin token checks (admin/rate-limit.ts).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Namespace, Server, Socket } from 'socket.io';
import { ADMIN_NAMESPACE, ErrorCode, describeIssues } from '../../shared/protocol.ts';
import {
  adminHelloSchema,
  adminWatchSchema,
  type AdminClientToServerEvents,
  type AdminCrawlDetail,
  type AdminUpdate,
  type AdminServerToClientEvents,
} from '../../shared/admin-protocol.ts';
import type { Engine } from '../engine/engine.ts';
import { connectError, fail } from './socket-errors.ts';
import { FollowedRoom, serveNamespace } from './namespace.ts';
import { AdminLive, type AdminLiveOptions } from '../live/admin-feed.ts';
import { originMatchesHost, type AdminSession, type AdminSessions } from './admin/session.ts';

type AdminNamespace = Namespace<AdminClientToServerEvents, AdminServerToClientEvents>;
type AdminSocket = Socket<AdminClientToServerEvents, AdminServerToClientEvents, Record<string, never>, { sessionKey?: string }>;

const roomOf = (crawlId: string) => `crawl:${crawlId}`;

function sameToken(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

export interface AdminLiveHandle {
  readonly live: AdminLive;
  close(): void;
}

export interface AttachAdminLiveOptions extends AdminLiveOptions {
  adminToken: string;
  sessions: AdminSessions;
}

export function attachAdminLive(io: Server, core: Engine, options: AttachAdminLiveOptions): AdminLiveHandle {
  const live = new AdminLive(core, options);
  const nsp = io.of(ADMIN_NAMESPACE) as unknown as AdminNamespace;

  // The feed listens only while a console is open: an update lists every
  // connected worker, so with thousands of them building and encoding one a
  // second for nobody cost the hub more than its heartbeats (docs/performance.md).
  const listener = {
    update: (update: AdminUpdate) => nsp.emit('admin:update', update),
    crawl: (detail: AdminCrawlDetail) => nsp.to(roomOf(detail.crawlId)).emit('admin:crawl', detail),
  };
  let consoles = 0;
  let unsubscribe = () => {};
  const consoleOpened = () => {
    if (consoles++ === 0) unsubscribe = live.subscribe(listener);
  };
  const consoleClosed = () => {
    if (--consoles === 0) unsubscribe();
  };

  const limiter = options.sessions.limiter;
  const tokenOf = (socket: Socket): string | undefined => {
    const hello = adminHelloSchema.safeParse(socket.handshake.auth ?? {});
    return hello.success ? hello.data.token : undefined;
  };
  // Before the token is compared: an address past the limit on wrong admin tokens
  // (sign-in form, API and this socket together) is refused, right token or not.
  nsp.use((socket, next) => {
    if (tokenOf(socket as unknown as Socket) === undefined) return next();
    limiter.blockedForMs(socket.handshake.address).then(
      (waitMs) => next(waitMs > 0 ? connectError('SIGN_IN_RATE_LIMITED', limiter.refusal(waitMs)) : undefined),
      (error: unknown) => next(error as Error),
    );
  });

  serveNamespace<AdminSocket>(nsp as unknown as Namespace, {
    name: 'admin',
    log: (line) => core.log.error(line),
    auth(socket) {
      const token = tokenOf(socket as unknown as Socket);
      if (token !== undefined) {
        if (sameToken(token, options.adminToken)) return undefined;
        void limiter.fail(socket.handshake.address);
        return connectError('UNAUTHORIZED', 'the admin token is wrong');
      }
      const headers = socket.handshake.headers;
      const session: AdminSession | undefined = options.sessions.fromCookieHeader(headers.cookie);
      if (!session) return connectError('UNAUTHORIZED', 'sign in to the admin console first');
      // A page of another origin on the same site would still send the cookie: refuse it.
      if (!originMatchesHost(headers.origin, headers.host)) return connectError('UNAUTHORIZED', 'this connection comes from another site');
      socket.data.sessionKey = session.key;
      return undefined;
    },
    connect(socket) {
      consoleOpened();
      socket.emit('admin:update', live.update());
      const followed = new FollowedRoom(socket);
      return {
        events: {
          'admin:watch': async (payload, ack) => {
            const parsed = adminWatchSchema.safeParse(payload);
            if (!parsed.success) {
              ack(fail(ErrorCode.BAD_REQUEST, `admin:watch: ${describeIssues(parsed.error)}`));
              return;
            }
            followed.stop();
            const crawlId = parsed.data.crawlId;
            if (crawlId === null) {
              ack({ ok: true });
              return;
            }
            const detail = await live.detail(crawlId);
            if (!detail) {
              ack(fail(ErrorCode.CRAWL_UNKNOWN, `no crawl with id "${crawlId}"`));
              return;
            }
            followed.follow(roomOf(crawlId), () => live.watch(crawlId));
            ack({ ok: true });
            socket.emit('admin:crawl', detail);
          },
        },
        disconnect: () => {
          followed.stop();
          consoleClosed();
        },
      };
    },
  });

  const stopListening = options.sessions.onEnd((session) => {
    for (const socket of nsp.sockets.values()) {
      if ((socket.data as { sessionKey?: string }).sessionKey === session.key) socket.disconnect(true);
    }
  });

  // An open console keeps its session from idling out (but not past its lifetime).
  const keepAlive = setInterval(() => {
    for (const socket of nsp.sockets.values()) {
      const key = (socket.data as { sessionKey?: string }).sessionKey;
      if (key) options.sessions.touchKey(key);
    }
  }, 60_000);
  keepAlive.unref();

  return {
    live,
    close() {
      clearInterval(keepAlive);
      stopListening();
      unsubscribe();
      live.close();
    },
  };
}
