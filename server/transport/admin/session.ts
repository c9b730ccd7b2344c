// The admin console's sign-in: the operator types the admin token once, the hub
// answers with a session cookie, and the console's requests carry that cookie.
//
// - The cookie holds a random session id, never the token. It is httpOnly (no
//   script can read it), SameSite=Strict (no other site's page can make the
//   browser send it), Path=/ (the API and the socket both need it), and Secure
//   when the console is on https.
// - Sessions live in memory: a hub restart signs everyone out. A session ends
//   after `ttlMs` whatever happens, after `idleMs` without a request, or when
//   the operator signs out.
// - CSRF: every state-changing request authenticated by the cookie must carry
//   the session's CSRF token in the X-CSRF-Token header (a synchronizer token,
//   given to the console at sign-in and by GET /api/session), and an Origin
//   header, when the browser sends one, naming this hub. Another site cannot
//   read the token (the API sends no CORS headers), so it cannot forge one.
// - Wrong tokens are counted per client address, by the one limiter of every
//   admin token check (rate-limit.ts); past the limit the address must wait
//   (429 with Retry-After).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { AdminTokenLimiter, clientAddress, DEFAULT_ADMIN_TOKEN_LIMITS, type AdminTokenLimits } from './rate-limit.ts';
import type { SessionReply } from '../../../shared/admin-api.ts';
import type { ErrorSender } from './send-error.ts';

export const SESSION_COOKIE = 'crowdcrawl_admin';
export const CSRF_HEADER = 'x-csrf-token';

export interface AdminSessionOptions {
  /** A session ends this long after sign-in, used or not. */
  ttlMs?: number;
  /** ...or this long after its last request. */
  idleMs?: number;
  /** Sessions kept at once; signing in past this ends the oldest. */
  maxSessions?: number;
  /** Wrong admin tokens allowed per client address, over the sign-in form, the API and the admin socket together. */
  tokenLimits?: AdminTokenLimits;
  now?: () => number;
}

export interface AdminSession {
  /** sha256 of the cookie's id: the map's key, so a memory dump shows no usable cookie. */
  readonly key: string;
  readonly csrfToken: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  lastSeenAt: number;
}

/** Why a request made with a session cookie was refused. */
export interface SessionRefusal {
  refused: true;
  code: 'UNAUTHORIZED' | 'CSRF_FAILED';
  message: string;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function digest(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64url');
}

function sameText(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

/** The value of one cookie in a Cookie header (undefined when absent or malformed). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    return /^[A-Za-z0-9_-]{20,100}$/.test(value) ? value : undefined;
  }
  return undefined;
}

/**
 * True when an Origin header is absent (not a browser, or a same-origin GET)
 * or names the host the request was sent to. Only the host is compared: behind
 * a TLS-terminating proxy the page is https while the hub sees http.
 */
export function originMatchesHost(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  if (host === undefined || origin === 'null') return false;
  try {
    return new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}

export class AdminSessions {
  readonly ttlMs: number;
  readonly idleMs: number;
  /** The limit on wrong admin tokens, shared by every check of the token. */
  readonly limiter: AdminTokenLimiter;
  private readonly maxSessions: number;
  private readonly now: () => number;
  private readonly sessions = new Map<string, AdminSession>();
  private readonly endListeners = new Set<(session: AdminSession) => void>();
  private readonly sweepTimer: NodeJS.Timeout;

  constructor(options: AdminSessionOptions = {}) {
    this.ttlMs = options.ttlMs ?? 12 * 3600_000;
    this.idleMs = options.idleMs ?? 2 * 3600_000;
    this.maxSessions = options.maxSessions ?? 100;
    this.now = options.now ?? Date.now;
    this.limiter = new AdminTokenLimiter(options.tokenLimits ?? DEFAULT_ADMIN_TOKEN_LIMITS);
    this.sweepTimer = setInterval(() => this.sweep(), 60_000);
    this.sweepTimer.unref();
  }

  /** Starts a session; returns the cookie's value (shown to no one but the browser) and the session. */
  create(): { id: string; session: AdminSession } {
    while (this.sessions.size >= this.maxSessions) {
      const oldest = this.sessions.values().next().value;
      if (!oldest) break;
      this.end(oldest);
    }
    const id = randomBytes(32).toString('base64url');
    const now = this.now();
    const session: AdminSession = {
      key: digest(id),
      csrfToken: randomBytes(24).toString('base64url'),
      createdAt: now,
      expiresAt: now + this.ttlMs,
      lastSeenAt: now,
    };
    this.sessions.set(session.key, session);
    return { id, session };
  }

  /** The live session a cookie value names, or undefined; using it counts as activity. */
  lookup(id: string | undefined, touch = true): AdminSession | undefined {
    if (id === undefined) return undefined;
    const session = this.sessions.get(digest(id));
    if (!session) return undefined;
    const now = this.now();
    if (now >= session.expiresAt || now - session.lastSeenAt >= this.idleMs) {
      this.end(session);
      return undefined;
    }
    if (touch) session.lastSeenAt = now;
    return session;
  }

  /** The session of a request's cookie. */
  fromCookieHeader(header: string | undefined, touch = true): AdminSession | undefined {
    return this.lookup(readCookie(header, SESSION_COOKIE), touch);
  }

  /** An open console (its live socket) counts as activity. */
  touchKey(key: string): void {
    const session = this.sessions.get(key);
    if (session) session.lastSeenAt = Math.max(session.lastSeenAt, this.now());
  }

  isLive(session: AdminSession): boolean {
    return this.sessions.get(session.key) === session;
  }

  end(session: AdminSession): void {
    if (!this.sessions.delete(session.key)) return;
    for (const listener of this.endListeners) listener(session);
  }

  /** Called when a session ends (sign-out, expiry, eviction): its live sockets are closed. */
  onEnd(listener: (session: AdminSession) => void): () => void {
    this.endListeners.add(listener);
    return () => this.endListeners.delete(listener);
  }

  get size(): number {
    return this.sessions.size;
  }

  close(): void {
    clearInterval(this.sweepTimer);
  }

  /**
   * Checks a request that came with a session cookie. Returns the session, or
   * why the request is refused: no live session, or a state-changing request
   * without the CSRF token or from another origin.
   */
  check(req: Request): AdminSession | SessionRefusal {
    const session = this.fromCookieHeader(req.get('cookie'));
    if (!session) {
      return { refused: true, code: 'UNAUTHORIZED', message: 'sign in to the admin console (the session ended or was never started)' };
    }
    if (SAFE_METHODS.has(req.method)) return session;
    if (!originMatchesHost(req.get('origin'), req.get('host'))) {
      return { refused: true, code: 'CSRF_FAILED', message: 'this request comes from another site' };
    }
    const sent = req.get(CSRF_HEADER);
    if (sent === undefined || !sameText(sent, session.csrfToken)) {
      return { refused: true, code: 'CSRF_FAILED', message: `send the session's CSRF token in the ${CSRF_HEADER} header` };
    }
    return session;
  }

  private sweep(): void {
    const now = this.now();
    for (const session of [...this.sessions.values()]) {
      if (now >= session.expiresAt || now - session.lastSeenAt >= this.idleMs) this.end(session);
    }
  }
}

function isSecure(req: Request): boolean {
  // A page served over https sends an https Origin even when a proxy in front talks http to the hub.
  return req.secure || (req.get('origin') ?? '').startsWith('https://');
}

function setSessionCookie(req: Request, res: Response, value: string, maxAgeMs: number): void {
  res.cookie(SESSION_COOKIE, value, { httpOnly: true, sameSite: 'strict', secure: isSecure(req), path: '/', maxAge: maxAgeMs });
}

function clearSessionCookie(req: Request, res: Response): void {
  res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', secure: isSecure(req), path: '/' });
}

function sessionReply(sessions: AdminSessions, session: AdminSession): SessionReply {
  return { csrfToken: session.csrfToken, expiresAt: session.expiresAt, idleMs: sessions.idleMs };
}


/**
 * POST /session { token } signs in; GET /session says whether the cookie's
 * session is live (and gives its CSRF token to a reloaded console); DELETE
 * /session signs out. These routes come before the admin check.
 */
export function sessionRoutes(sessions: AdminSessions, adminToken: string, sendError: ErrorSender): Router {
  const router = express.Router();
  const json = express.json({ limit: 4096 });

  router.post('/session', json, async (req, res) => {
    const ip = clientAddress(req.socket.remoteAddress);
    if (!originMatchesHost(req.get('origin'), req.get('host'))) {
      sendError(res, 'CSRF_FAILED', 'sign in from the hub\'s own admin page');
      return;
    }
    const waitMs = await sessions.limiter.blockedForMs(ip);
    if (waitMs > 0) {
      res.setHeader('retry-after', String(Math.ceil(waitMs / 1000)));
      sendError(res, 'SIGN_IN_RATE_LIMITED', sessions.limiter.refusal(waitMs));
      return;
    }
    const token = (req.body as { token?: unknown } | undefined)?.token;
    if (typeof token !== 'string' || token === '') {
      sendError(res, 'BAD_REQUEST', 'send { "token": "<admin token>" } as JSON');
      return;
    }
    if (!sameText(token, adminToken)) {
      const left = await sessions.limiter.fail(ip);
      const seconds = Math.round(sessions.limiter.windowMs / 1000);
      const more = left > 0 ? `${left} more attempt(s) before sign-in is paused for up to ${seconds} s` : `sign-in is paused for up to ${seconds} s`;
      sendError(res, 'WRONG_TOKEN', `that is not this hub's admin token (${more}); the hub printed it when it first started and keeps it in its data dir's admin-token file`);
      return;
    }
    // A new sign-in replaces the session this browser had.
    const previous = sessions.fromCookieHeader(req.get('cookie'), false);
    if (previous) sessions.end(previous);
    const { id, session } = sessions.create();
    setSessionCookie(req, res, id, sessions.ttlMs);
    res.status(201).json(sessionReply(sessions, session));
  });

  router.get('/session', (req, res) => {
    const session = sessions.fromCookieHeader(req.get('cookie'));
    if (!session) {
      sendError(res, 'UNAUTHORIZED', 'not signed in');
      return;
    }
    res.json(sessionReply(sessions, session));
  });

  router.delete('/session', (req, res) => {
    const result = sessions.check(req);
    if ('refused' in result) {
      if (result.code === 'UNAUTHORIZED') {
        // Nothing to end; make sure the browser forgets its cookie anyway.
        clearSessionCookie(req, res);
        res.status(204).end();
        return;
      }
      sendError(res, result.code, result.message);
      return;
    }
    sessions.end(result);
    clearSessionCookie(req, res);
    res.status(204).end();
  });

  return router;
}
