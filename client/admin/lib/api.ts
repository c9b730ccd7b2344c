// Calls to the hub's admin API from the console. The session cookie goes with
// every request by itself; state-changing ones also carry the session's CSRF
// token. Errors come back as ApiError with the API's code, message and details.
// What each route answers with is typed in shared/admin-api.ts (the hub's own).
import type { ApiIssue } from '../../../shared/admin-api.ts';
import { ErrorCode, whatToDo } from '../../../shared/errors.ts';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  /** A catalogue code (shared/errors.ts); a newer hub's unknown code is kept as sent. */
  readonly code: ErrorCode | (string & {});
  readonly details: unknown;

  constructor(status: number, code: ErrorCode | (string & {}), message: string, details?: unknown) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** What to do about it, from the catalogue (undefined for a code it does not have). */
  get todo(): string | undefined {
    return whatToDo(this.code);
  }

  /** The spec problems of a SPEC_INVALID answer. */
  get issues(): ApiIssue[] {
    return Array.isArray(this.details) ? (this.details as ApiIssue[]) : [];
  }
}

export class ApiClient {
  csrfToken: string | null = null;
  /** Called when the hub says the session is gone (401), so the console shows the sign-in screen. */
  onSignedOut: () => void = () => {};
  private readonly base: string;

  constructor(base = '/api') {
    this.base = base;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET' && this.csrfToken) headers['x-csrf-token'] = this.csrfToken;
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        headers,
        credentials: 'same-origin',
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new ApiError(0, ErrorCode.HUB_UNREACHABLE, `the hub did not answer: ${(error as Error).message}`);
    }
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    let parsed: unknown = undefined;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // not JSON: reported below
    }
    if (!response.ok) {
      const error = (parsed as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
      const apiError = new ApiError(response.status, error?.code ?? ErrorCode.BAD_RESPONSE, error?.message ?? (text.slice(0, 200) || response.statusText), error?.details);
      if (response.status === 401 && !path.startsWith('/session')) this.onSignedOut();
      throw apiError;
    }
    return parsed as T;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body ?? {});
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body);
  }

  delete<T = void>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }
}
