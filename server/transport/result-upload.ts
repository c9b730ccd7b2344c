// POST /results/:leaseId — a result too large for one socket message (the
// Welcome's maxMessageBytes). The worker proves itself with the relay's
// header (its worker secret), and the lease must be one a result could be
// taken for *before* a byte of the body is read; the body is read as a stream
// and reading stops at transport.maxUploadBytes (413 RESULT_TOO_LARGE). The
// JSON is checked by the socket event's own schema and handed to the same
// engine.submitResult, and the answer is the same Reply the socket would ack.
import express, { type NextFunction, type Request, type Response } from 'express';
import { ERRORS, ErrorCode } from '../../shared/errors.ts';
import { RESULT_UPLOAD_PATH, WORKER_SECRET_HEADER, describeIssues, resultSchema, type Reply } from '../../shared/protocol.ts';
import type { Engine } from '../engine/engine.ts';
import type { WorkerSession } from '../lease/workers.ts';
import type { EventLimiter } from './edge-limits.ts';

export interface ResultUploadOptions {
  maxUploadBytes: number;
  maxUploadsPerWorker: number;
  /** The worker sockets' limiter: an upload counts as one event. */
  limiter: EventLimiter;
}

/** The Reply a refused upload answers with, under the code's catalogue status. */
function refuse(res: Response, code: ErrorCode, message: string, status?: number): void {
  const body: Reply = { ok: false, error: { code, message } };
  const catalogued = (ERRORS[code] as { status?: number }).status;
  res.status(status ?? catalogued ?? 400).set('cache-control', 'no-store').json(body);
}

export function resultUploadRouter(engine: Engine, options: ResultUploadOptions): express.Router {
  const router = express.Router();
  /** Uploads being read or handled, per worker: one worker cannot hold many bodies in memory at once. */
  const active = new Map<string, number>();
  const path = `${RESULT_UPLOAD_PATH}/:leaseId`;

  const authenticate = async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const header = req.headers[WORKER_SECRET_HEADER];
    const secret = Array.isArray(header) ? header[0] : header;
    const worker = secret ? engine.workers.bySecretToken(secret) : undefined;
    if (!worker) {
      // 401, as on the relay: the worker did not say who it is at all.
      refuse(res, ErrorCode.LEASE_NOT_YOURS, `send the worker secret from the welcome event in the ${WORKER_SECRET_HEADER} header`, 401);
      return;
    }
    const verdict = await options.limiter.take(worker.id, req.socket.remoteAddress ?? '');
    if (verdict !== 'ok') {
      refuse(res, ErrorCode.RATE_LIMITED, `upload refused: ${options.limiter.describe()}`);
      return;
    }
    const refusal = engine.resultRefusal(worker, String(req.params.leaseId));
    if (refusal) {
      refuse(res, refusal.code, refusal.message);
      return;
    }
    const busy = active.get(worker.id) ?? 0;
    if (busy >= options.maxUploadsPerWorker) {
      refuse(res, ErrorCode.RATE_LIMITED, `at most ${options.maxUploadsPerWorker} result uploads at once per worker`);
      return;
    }
    active.set(worker.id, busy + 1);
    res.once('close', () => {
      const left = (active.get(worker.id) ?? 1) - 1;
      if (left <= 0) active.delete(worker.id);
      else active.set(worker.id, left);
    });
    res.locals.worker = worker;
    next();
  };

  // body-parser reads the stream and stops at the limit (a declared Content-Length over it is refused unread).
  const readBody = express.json({ limit: options.maxUploadBytes, type: 'application/json', inflate: false, strict: true });

  const take = async (req: Request, res: Response): Promise<void> => {
    if (req.body === undefined || !req.is('application/json')) {
      refuse(res, ErrorCode.UNSUPPORTED_MEDIA_TYPE, 'send the result as JSON (Content-Type: application/json)');
      return;
    }
    const parsed = resultSchema.safeParse(req.body);
    if (!parsed.success) {
      refuse(res, ErrorCode.BAD_REQUEST, `result: ${describeIssues(parsed.error)}`);
      return;
    }
    if (parsed.data.leaseId !== req.params.leaseId) {
      refuse(res, ErrorCode.BAD_REQUEST, 'result: leaseId: not the lease of the upload path');
      return;
    }
    const worker = res.locals.worker as WorkerSession;
    try {
      const reply = await engine.submitResult(worker, parsed.data);
      if (reply.ok) res.status(200).set('cache-control', 'no-store').json(reply);
      else refuse(res, reply.error.code, reply.error.message);
    } catch (error) {
      engine.log.error({ err: error, worker: worker.name }, 'error handling a result upload');
      refuse(res, ErrorCode.INTERNAL, 'the hub failed to handle this result');
    }
  };

  router.post(path, authenticate, readBody, take);

  // What the body parser refused: too large, not JSON, a body that ended early.
  router.use(path, (error: Error & { type?: string }, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    switch (error.type) {
      case 'entity.too.large':
        // Close the connection: the rest of the body is not worth reading.
        res.set('connection', 'close');
        refuse(res, ErrorCode.RESULT_TOO_LARGE, `a result upload is at most ${options.maxUploadBytes} bytes`);
        return;
      case 'entity.parse.failed':
        refuse(res, ErrorCode.BAD_JSON, 'the body is not valid JSON');
        return;
      case 'encoding.unsupported':
      case 'charset.unsupported':
        refuse(res, ErrorCode.UNSUPPORTED_MEDIA_TYPE, error.message);
        return;
      default:
        refuse(res, ErrorCode.BAD_REQUEST, `the upload could not be read: ${error.message}`);
    }
  });
  return router;
}
