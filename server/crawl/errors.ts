// Errors the hub reports to callers, grouped by what the caller should do:
// fix the request (4xx codes), try again later (retryable), or report a bug.
export class HubError extends Error {
  override readonly name = 'HubError';
  readonly code: string;
  /** The HTTP status the admin API answers with. */
  readonly status: number;
  readonly details: unknown;

  constructor(code: string, message: string, status = 400, details?: unknown) {
    super(message);
    this.code = code;
    this.status = status;
    this.details = details;
  }
}
