// The fetch relay's errors: every failure carries a stable code (what the hub
// records and workers see), whether trying again later could succeed, and for
// HTTP answers the status and the server's Retry-After.

// The codes, with what each means and what to do, are in the catalogue
// (shared/errors.ts); they are re-exported here for the relay's callers.
import { isRetryLater, RelayErrorCode } from '../../shared/errors.ts';

export { RelayErrorCode };

/** HTTP statuses that say "not now" rather than "never". */
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * Whether a failure with this code may succeed later. For RELAY_HTTP_STATUS it
 * depends on the status: pass it.
 */
export function isRetryable(code: RelayErrorCode, httpStatus?: number): boolean {
  if (code === RelayErrorCode.RELAY_HTTP_STATUS) return httpStatus !== undefined && RETRYABLE_STATUSES.has(httpStatus);
  return isRetryLater(code);
}

export interface RelayErrorOptions {
  /** Defaults to isRetryable(code, status). */
  retryable?: boolean;
  /** The HTTP status of the final answer (RELAY_HTTP_STATUS). */
  status?: number;
  /** From Retry-After, when the server sent one. */
  retryAfterMs?: number;
  cause?: unknown;
}

export class RelayError extends Error {
  override readonly name = 'RelayError';
  readonly code: RelayErrorCode;
  readonly retryable: boolean;
  readonly status?: number;
  readonly retryAfterMs?: number;

  constructor(code: RelayErrorCode, message: string, options: RelayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? isRetryable(code, options.status);
    if (options.status !== undefined) this.status = options.status;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * Retry-After is either delay-seconds or an HTTP date (RFC 9110 §10.2.3).
 * Returns milliseconds from `nowMs`, never negative; undefined when absent or unreadable.
 */
export function parseRetryAfterMs(value: string | undefined, nowMs = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) {
    const seconds = Number(trimmed);
    return Number.isSafeInteger(seconds) ? seconds * 1000 : undefined;
  }
  // An HTTP date always names its day and month; Date.parse alone would take "-5" for a year.
  if (!/[a-z]/i.test(trimmed)) return undefined;
  const dateMs = Date.parse(trimmed);
  if (Number.isNaN(dateMs)) return undefined;
  return Math.max(0, dateMs - nowMs);
}
