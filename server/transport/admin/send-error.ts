// How the admin API (and the console's session routes) answer with an error:
// `{ error: { code, message, details? } }` with the code's HTTP status from
// the error catalogue (shared/errors.ts), so a code always comes with one status.
import type { Response } from 'express';
import { httpStatusOf, type HttpErrorCode } from '../../../shared/errors.ts';
import type { ApiErrorBody } from '../../../shared/admin-api.ts';

/** `status` overrides the catalogue's only where a library chose it (express's body parser). */
export function sendError(res: Response, code: HttpErrorCode, message: string, details?: unknown, status: number = httpStatusOf(code)): void {
  const body: ApiErrorBody = { error: details === undefined ? { code, message } : { code, message, details } };
  res.status(status).json(body);
}

export type ErrorSender = typeof sendError;
