// A request body checked by a zod schema: every problem at once, each with its
// path, under the one error code the route gives (SCHEDULE_INVALID, …).
import type { z } from 'zod';
import { HubError, type HttpErrorCode } from '../../../shared/errors.ts';

export function parseWith<T extends z.ZodType>(schema: T, body: unknown, code: HttpErrorCode): z.output<T> {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) {
    throw new HubError(code, parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  }
  return parsed.data;
}
