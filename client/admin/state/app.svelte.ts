// The console as a whole: the API client, the session, the page shown, the
// live feed, and short notices ("Crawl paused"). Components get this object
// and render it; they hold no state of their own beyond what an input needs.
import { ApiClient, ApiError } from '../lib/api.ts';
import { LiveState } from './live.svelte.ts';
import { Router } from './router.svelte.ts';
import { SessionState } from './session.svelte.ts';

export interface Notice {
  id: number;
  kind: 'ok' | 'error';
  text: string;
}

export interface Confirmation {
  title: string;
  body: string;
  confirmLabel: string;
  danger: boolean;
  resolve(ok: boolean): void;
}

export class AdminApp {
  readonly api = new ApiClient();
  readonly session = new SessionState(this.api);
  readonly router = new Router();
  readonly live = new LiveState(() => void this.session.check());
  notices = $state<Notice[]>([]);
  /** The question on screen, if any (pause, cancel, ban...). */
  confirmation = $state.raw<Confirmation | null>(null);
  private nextNotice = 1;

  constructor() {
    $effect.root(() => {
      $effect(() => {
        if (this.session.status === 'signedIn') this.live.connect();
        else this.live.disconnect();
      });
    });
    void this.session.check();
  }

  notify(kind: Notice['kind'], text: string): void {
    const notice = { id: this.nextNotice++, kind, text };
    this.notices = [...this.notices, notice];
    setTimeout(() => this.dismiss(notice.id), kind === 'error' ? 8000 : 4000);
  }

  dismiss(id: number): void {
    this.notices = this.notices.filter((n) => n.id !== id);
  }

  /** Asks the operator; resolves true when they confirm. */
  confirm(options: Omit<Confirmation, 'resolve'>): Promise<boolean> {
    return new Promise((resolve) => {
      this.confirmation = {
        ...options,
        resolve: (ok) => {
          this.confirmation = null;
          resolve(ok);
        },
      };
    });
  }

  /** Runs an action, showing its failure as a notice; returns its result or undefined. */
  async attempt<T>(action: () => Promise<T>, success?: string): Promise<T | undefined> {
    try {
      const result = await action();
      if (success) this.notify('ok', success);
      return result;
    } catch (error) {
      this.notify('error', error instanceof ApiError ? error.message : String(error));
      return undefined;
    }
  }
}
