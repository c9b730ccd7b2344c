// The hub's admin HTTP API, mounted at /api: create and steer crawls, look at
// their pages, items and errors, see the connected workers, and download a
// crawl's items. Every route needs the admin token (the CLI) or a console
// session (the browser; see session.ts). Errors are always
// `{ error: { code, message, details? } }` with a fitting HTTP status.
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { SpecError } from '../../../shared/spec/schema.ts';
import { HubError } from '../../../shared/errors.ts';
import { sendError } from './send-error.ts';
import type { Engine } from '../../engine/engine.ts';
import { crawlDetail, hubStats, itemView, pageView, PAGE_STATES, workerViews, type PageStateName } from './views.ts';
import { EXPORT_FORMATS, isExportFormat, sendExport } from '../../export/export.ts';
import { FeedChanges, sendFeed } from '../../export/feed.ts';
import type { Crawl } from '../../crawl/crawl.ts';
import { AdminSessions, sessionRoutes } from './session.ts';
import { AdminTokenLimiter, clientAddress } from './rate-limit.ts';
import { previewHandler } from './preview.ts';
import { specsRouter } from './specs-routes.ts';
import { trustRouter } from './trust-routes.ts';
import { specVersionRouter } from './spec-version-routes.ts';
import type { PageFetcher } from '../../relay/fetch-page.ts';
import type { Ops } from '../../ops/ops.ts';
import { schedulesRouter } from './schedules-routes.ts';
import { webhooksRouter } from './webhooks-routes.ts';
import type { CrawlList, CreateCrawlRequest, HubList, ItemsPage, PageList, WorkerList } from '../../../shared/admin-api.ts';
import type { FleetMember } from '../../engine/fleet.ts';

export interface AdminRouterOptions {
  adminToken: string;
  /** The console's sign-in sessions, shared with the /admin socket namespace (a private set when absent). */
  sessions?: AdminSessions;
  /** The hub's page fetcher, for POST /preview (which answers 501 without one). */
  fetcher?: PageFetcher;
  /** Schedules and webhooks (their routes are absent without it). */
  ops?: Ops;
  /** This hub in its fleet, for GET /hubs (which lists no hub without one). */
  fleet?: FleetMember;
}

/** Large enough for a spec with 10,000 start URLs. */
export const ADMIN_JSON_LIMIT_BYTES = 5 * 1024 * 1024;
export const MAX_PAGE_LIMIT = 1000;

function tokenDigest(token: string): Buffer {
  // Comparing fixed-size digests keeps timingSafeEqual from leaking the token's length.
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * Lets a request through only when it proves it is the operator's:
 * `Authorization: Bearer <admin token>` (the CLI, scripts), or the console's
 * session cookie, with the CSRF token on state-changing requests. Every route
 * goes through this one check.
 */
export function requireAdmin(options: AdminRouterOptions) {
  const expected = tokenDigest(options.adminToken);
  const limiter = options.sessions?.limiter ?? new AdminTokenLimiter();
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const header = req.get('authorization');
    const match = header === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    res.setHeader('www-authenticate', 'Bearer realm="crowdcrawl admin"');
    if (header === undefined && options.sessions && req.get('cookie') !== undefined) {
      const checked = options.sessions.check(req);
      if ('refused' in checked) {
        sendError(res, checked.code, checked.message);
        return;
      }
      res.removeHeader('www-authenticate');
      next();
      return;
    }
    if (!match) {
      sendError(res, 'UNAUTHORIZED', 'send the admin token in an "Authorization: Bearer <token>" header');
      return;
    }
    // The same limit as the sign-in form's: a Bearer header is no way round it.
    const address = clientAddress(req.socket.remoteAddress);
    const waitMs = await limiter.blockedForMs(address);
    if (waitMs > 0) {
      res.setHeader('retry-after', String(Math.ceil(waitMs / 1000)));
      sendError(res, 'SIGN_IN_RATE_LIMITED', limiter.refusal(waitMs));
      return;
    }
    if (!timingSafeEqual(tokenDigest(match[1]!), expected)) {
      const left = await limiter.fail(address);
      sendError(res, 'UNAUTHORIZED', `the admin token is wrong (${left} more attempt(s) from this address before it must wait)`);
      return;
    }
    res.removeHeader('www-authenticate');
    next();
  };
}

/** A whole-number query parameter within bounds, or its default when absent. */
function intParam(req: Request, name: string, fallback: number, min: number, max: number): number {
  const raw = req.query[name];
  if (raw === undefined || raw === '') return fallback;
  const value = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new HubError('BAD_REQUEST', `"${name}" must be a whole number from ${min} to ${max}`);
  }
  return value;
}

function stringParam(req: Request, name: string): string | undefined {
  const raw = req.query[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw new HubError('BAD_REQUEST', `give "${name}" once`);
  return raw;
}

function booleanParam(req: Request, name: string, absent = false): boolean {
  const raw = stringParam(req, name);
  if (raw === undefined || raw === '') return absent;
  if (raw === '0' || raw === 'false') return false;
  if (raw === '1' || raw === 'true') return true;
  throw new HubError('BAD_REQUEST', `"${name}" must be true or false`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The body of POST /crawls: a spec, or `{ spec, start }`. */
function crawlRequest(body: unknown): Required<CreateCrawlRequest> {
  if (!isPlainObject(body) || !Object.hasOwn(body, 'spec')) return { spec: body, start: true };
  const unknown = Object.keys(body).filter((key) => key !== 'spec' && key !== 'start');
  if (unknown.length > 0) {
    throw new HubError('BAD_REQUEST', `unknown key(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}: send a spec, or { "spec": {...}, "start": true|false }`);
  }
  if (body.start !== undefined && typeof body.start !== 'boolean') throw new HubError('BAD_REQUEST', '"start" must be true or false');
  return { spec: body.spec, start: body.start ?? true };
}

export function createAdminRouter(engine: Engine, input: AdminRouterOptions): Router {
  const options: AdminRouterOptions = { ...input, sessions: input.sessions ?? new AdminSessions() };
  const router = express.Router();
  router.use((_req, res, next) => {
    res.setHeader('cache-control', 'no-store');
    next();
  });
  // Signing in and out come before the admin check (they are how one gets past it).
  router.use(sessionRoutes(options.sessions!, options.adminToken, sendError));
  // Authenticate before reading a body, so no one without the token can make the hub parse 5 MB.
  router.use(requireAdmin(options));
  router.use(express.json({ limit: ADMIN_JSON_LIMIT_BYTES }));

  router.post('/preview', previewHandler(options.fetcher, sendError));
  router.use(specsRouter(engine.storage));
  router.use(trustRouter(engine));
  router.use(specVersionRouter(engine));
  if (options.ops) {
    const now = () => engine.clock.now();
    router.use(schedulesRouter(engine.storage, options.ops, now));
    router.use(webhooksRouter(engine.storage, options.ops, now));
  }

  router.post('/workers/:id/disconnect', (req, res) => {
    const worker = engine.workers.get(req.params.id!);
    if (!worker) throw new HubError('WORKER_UNKNOWN', `no connected worker with id "${req.params.id}"`);
    worker.disconnect('disconnected by the operator');
    res.json({ disconnected: worker.id, name: worker.name });
  });

  router.post('/workers/:id/ban', async (req, res) => {
    const worker = engine.workers.get(req.params.id!);
    if (!worker) throw new HubError('WORKER_UNKNOWN', `no connected worker with id "${req.params.id}"`);
    // The browser always; its address too when asked ({ "address": true }), which shuts out everyone behind it.
    const withAddress = (req.body as { address?: unknown } | undefined)?.address === true;
    const sessionsClosed = await engine.ban({ clientId: worker.clientId, ...(withAddress ? { address: worker.address } : {}) }, `banned by the operator (${worker.name})`);
    res.json({ banned: worker.clientId, ...(withAddress ? { address: worker.address } : {}), name: worker.name, sessionsClosed });
  });

  router.get('/stats', (_req, res) => {
    res.json(hubStats(engine));
  });

  router.get('/workers', (_req, res) => {
    const list: WorkerList = { workers: workerViews(engine) };
    res.json(list);
  });

  // The fleet: every hub sharing this hub's database (docs/scale-out.md).
  router.get('/hubs', async (_req, res) => {
    const list: HubList = {
      hubs: options.fleet ? (await options.fleet.hubs()).map(({ state: _state, ...hub }) => hub) : [],
      storage: engine.storageOutage.status,
    };
    res.json(list);
  });

  router.post('/crawls', async (req, res) => {
    if (req.body === undefined) {
      sendError(res, 'UNSUPPORTED_MEDIA_TYPE', 'send the spec as JSON with "Content-Type: application/json"');
      return;
    }
    const { spec, start } = crawlRequest(req.body);
    const crawl = await engine.createCrawl(spec, { start });
    res.status(201).location(`${req.baseUrl}/crawls/${encodeURIComponent(crawl.id)}`).json(crawl.summary());
  });

  router.get('/crawls', (_req, res) => {
    const list: CrawlList = { crawls: engine.crawls.list().map((crawl) => crawl.summary()) };
    res.json(list);
  });

  router.get('/crawls/:id', async (req, res) => {
    const crawl = engine.crawls.require(req.params.id);
    const previousCrawlId = options.ops?.recrawls.previousOf(crawl.id);
    // A re-crawl says which crawl it revisits and how much did not change.
    const recrawl = previousCrawlId === undefined ? {} : { recrawl: { previousCrawlId, ...(await engine.storage.recrawlCounts(crawl.id)) } };
    res.json({ ...(await crawlDetail(engine, crawl)), ...recrawl });
  });

  // Politeness per host: AutoThrottle's current delay, Crawl-delay, backoffs (server/hub/politeness.ts).
  router.get('/crawls/:id/hosts', (req, res) => {
    const crawl = engine.crawls.require(req.params.id);
    res.json({ hosts: engine.hostStats(crawl, intParam(req, 'limit', 100, 1, 1000)) });
  });

  for (const action of ['start', 'pause', 'resume', 'cancel'] as const) {
    router.post(`/crawls/:id/${action}`, async (req, res) => {
      res.json((await engine.control(req.params.id!, action)).summary());
    });
  }

  router.get('/crawls/:id/items', async (req, res) => {
    const crawl = engine.crawls.require(req.params.id);
    const limit = intParam(req, 'limit', 100, 1, MAX_PAGE_LIMIT);
    const after = intParam(req, 'after', 0, 0, Number.MAX_SAFE_INTEGER);
    const q = stringParam(req, 'q') ?? '';
    if (q.length > 200) throw new HubError('BAD_REQUEST', '"q" is at most 200 characters');
    // One row more than asked for tells whether there is a next page.
    const rows = [];
    if (q !== '') rows.push(...(await engine.storage.searchItems(crawl.id, q, after, limit + 1)));
    else {
      for await (const item of engine.storage.iterateItems(crawl.id, limit + 1, after)) {
        rows.push(item);
        if (rows.length > limit) break;
      }
    }
    const items = rows.slice(0, limit).map(itemView);
    // A search's total would need a scan of every item: it is left out (null).
    const page: ItemsPage = { items, next: rows.length > limit ? items.at(-1)!.id : null, total: q === '' ? crawl.items : null };
    res.json(page);
  });

  router.get('/crawls/:id/pages', async (req, res) => {
    const crawl = engine.crawls.require(req.params.id);
    const stateName = stringParam(req, 'state') ?? 'done';
    if (!Object.hasOwn(PAGE_STATES, stateName)) {
      throw new HubError('BAD_REQUEST', `"state" must be one of ${Object.keys(PAGE_STATES).join(', ')}`);
    }
    const state = PAGE_STATES[stateName as PageStateName];
    const limit = intParam(req, 'limit', 100, 1, MAX_PAGE_LIMIT);
    const offset = intParam(req, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
    const pages = (await engine.storage.requestsByState(crawl.id, state, limit, offset)).map(pageView);
    const list: PageList = { pages, state: stateName, total: (await engine.storage.countByState(crawl.id))[state], limit, offset };
    res.json(list);
  });

  router.get('/crawls/:id/export', async (req, res) => {
    const crawl = engine.crawls.require(req.params.id);
    const format = stringParam(req, 'format') ?? 'jsonl';
    if (!isExportFormat(format)) throw new HubError('BAD_REQUEST', `"format" must be one of ${EXPORT_FORMATS.join(', ')}`);
    await sendExport(res, engine.storage, crawl, format, { escapeFormulas: booleanParam(req, 'escapeFormulas', true), changedOnly: booleanParam(req, 'changed') });
  });

  // Deletes an ended crawl and its data; a running or paused one is refused with CRAWL_ACTIVE (cancel it first).
  router.delete('/crawls/:id', async (req, res) => {
    if (!options.ops) throw new HubError('NOT_FOUND', 'this hub cannot delete crawls');
    await options.ops.recrawls.deleteCrawl(req.params.id);
    res.status(204).end();
  });

  router.get('/crawls/:id/feed', async (req, res) => {
    const crawl = engine.crawls.require(req.params.id);
    const after = intParam(req, 'after', 0, 0, Number.MAX_SAFE_INTEGER);
    const follow = booleanParam(req, 'follow', false);
    const changes = new FeedChanges();
    const onChange = (changed: Crawl): void => {
      if (changed === crawl) changes.notify();
    };
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    engine.crawls.on('count', onChange).on('status', onChange);
    try {
      await sendFeed(res, engine.storage, crawl, { after, follow, changes, signal: gone.signal });
    } finally {
      engine.crawls.off('count', onChange).off('status', onChange);
    }
  });

  router.use((req, res) => {
    sendError(res, 'NOT_FOUND', `no admin API route ${req.method} ${req.baseUrl}${req.path}`);
  });

  router.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      // Mid-download: all that is left is to cut the connection so the client sees the body is incomplete.
      engine.log.warn(`admin API: ${req.method} ${req.originalUrl} failed while sending: ${(error as Error).message}`);
      res.destroy();
      return;
    }
    if (error instanceof SpecError) {
      sendError(res, error.code, 'the spec is invalid', error.issues.map((i) => ({ path: i.path, message: i.message })));
    } else if (error instanceof HubError) {
      sendError(res, error.code, error.message);
    } else if (isBodyParserError(error)) {
      if (error.type === 'entity.too.large') sendError(res, 'BODY_TOO_LARGE', `the request body is larger than ${ADMIN_JSON_LIMIT_BYTES} bytes`);
      else if (error.type === 'entity.parse.failed') sendError(res, 'BAD_JSON', `the body is not valid JSON: ${error.message}`);
      else sendError(res, 'BAD_REQUEST', error.message, undefined, error.status);
    } else {
      engine.log.error({ err: error }, `admin API: ${req.method} ${req.originalUrl} failed`);
      sendError(res, 'INTERNAL', 'the hub failed to answer; see its log');
    }
  });
  return router;
}

/** The errors express.json() raises carry an HTTP status and a type such as "entity.parse.failed". */
function isBodyParserError(error: unknown): error is Error & { status: number; type: string } {
  const e = error as { status?: unknown; type?: unknown } | null;
  return typeof e === 'object' && e !== null && typeof e.status === 'number' && e.status >= 400 && e.status < 500 && typeof e.type === 'string';
}
