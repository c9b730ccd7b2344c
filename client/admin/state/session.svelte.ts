// Signing in and out. The hub keeps the session; the page only learns whether
// it has one (GET /api/session) and the CSRF token it must send along.
import { ApiError, type ApiClient } from '../lib/api.ts';
import type { SessionReply, SignInRequest } from '../../../shared/admin-api.ts';

export type SessionStatus = 'checking' | 'signedOut' | 'signedIn';

export class SessionState {
  status = $state<SessionStatus>('checking');
  error = $state<string | null>(null);
  busy = $state(false);
  private readonly api: ApiClient;

  constructor(api: ApiClient) {
    this.api = api;
    api.onSignedOut = () => this.forget('Your session ended. Sign in again.');
  }

  async check(): Promise<void> {
    try {
      const reply = await this.api.get<SessionReply>('/session');
      this.api.csrfToken = reply.csrfToken;
      this.status = 'signedIn';
    } catch (error) {
      this.status = 'signedOut';
      if (error instanceof ApiError && error.status !== 401) this.error = error.message;
    }
  }

  async signIn(token: string): Promise<boolean> {
    this.busy = true;
    this.error = null;
    try {
      const reply = await this.api.post<SessionReply>('/session', { token: token.trim() } satisfies SignInRequest);
      this.api.csrfToken = reply.csrfToken;
      this.status = 'signedIn';
      return true;
    } catch (error) {
      this.error = error instanceof ApiError ? error.message : String(error);
      return false;
    } finally {
      this.busy = false;
    }
  }

  async signOut(): Promise<void> {
    try {
      await this.api.delete('/session');
    } finally {
      this.forget(null);
    }
  }

  private forget(message: string | null): void {
    this.api.csrfToken = null;
    if (this.status === 'signedIn') this.error = message;
    this.status = 'signedOut';
  }
}
