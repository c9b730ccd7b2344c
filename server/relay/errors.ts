// The fetch relay's errors: every failure carries a stable code (what the hub
// records and workers see), whether trying again later could succeed, and for
// HTTP answers the status and the server's Retry-After.

export const RelayErrorCode = {
  /** The URL does not parse, or has no host. */
  RELAY_BAD_URL: 'RELAY_BAD_URL',
  /** Not http: or https:. */
  RELAY_BAD_SCHEME: 'RELAY_BAD_SCHEME',
  /** The host is, or resolves to, an address that is not public unicast (loopback, private, link-local…). */
  RELAY_BLOCKED_ADDRESS: 'RELAY_BLOCKED_ADDRESS',
  RELAY_DNS_FAILED: 'RELAY_DNS_FAILED',
  RELAY_CONNECT_FAILED: 'RELAY_CONNECT_FAILED',
  /** The whole fetch (connect, redirects, headers and body) took longer than timeoutMs. */
  RELAY_TIMEOUT: 'RELAY_TIMEOUT',
  RELAY_TOO_MANY_REDIRECTS: 'RELAY_TOO_MANY_REDIRECTS',
  RELAY_REDIRECT_LOOP: 'RELAY_REDIRECT_LOOP',
  /** The body (decoded, or as sent) is larger than maxBodyBytes. */
  RELAY_BODY_TOO_LARGE: 'RELAY_BODY_TOO_LARGE',
  /** The final answer is not one of the allowed media types (HTML by default). */
  RELAY_CONTENT_TYPE: 'RELAY_CONTENT_TYPE',
  /** The final answer is not 2xx. */
  RELAY_HTTP_STATUS: 'RELAY_HTTP_STATUS',
  /** The Content-Encoding is unknown or the compressed body does not decode. */
  RELAY_BAD_ENCODING: 'RELAY_BAD_ENCODING',
  /** The caller's signal aborted the fetch. */
  RELAY_ABORTED: 'RELAY_ABORTED',
  /** A bug or an unexpected failure (not raised by the fetcher itself; the hub uses it for anything else). */
  RELAY_INTERNAL: 'RELAY_INTERNAL',
} as const;

export type RelayErrorCode = (typeof RelayErrorCode)[keyof typeof RelayErrorCode];

/** HTTP statuses that say "not now" rather than "never". */
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 425, 429, 500, 502, 503, 504]);

const RETRYABLE_CODES: ReadonlySet<string> = new Set<RelayErrorCode>([
  RelayErrorCode.RELAY_DNS_FAILED,
  RelayErrorCode.RELAY_CONNECT_FAILED,
  RelayErrorCode.RELAY_TIMEOUT,
  RelayErrorCode.RELAY_INTERNAL,
]);

/**
 * Whether a failure with this code may succeed later. For RELAY_HTTP_STATUS it
 * depends on the status: pass it.
 */
export function isRetryable(code: string, httpStatus?: number): boolean {
  if (code === RelayErrorCode.RELAY_HTTP_STATUS) return httpStatus !== undefined && RETRYABLE_STATUSES.has(httpStatus);
  return RETRYABLE_CODES.has(code);
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
