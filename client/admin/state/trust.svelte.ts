// The contributors page's trust side (docs/trust.md): what validation knows of
// every browser and address (GET /api/trust), the bans with unban, and the
// worker tokens that mark an operator's edge workers as trusted. Read again
// every few seconds while the page is shown, and after each action.
import type {
  BanList,
  BanView,
  ContributorTrust,
  IssuedWorkerToken,
  TrustList,
  WorkerTokenList,
  WorkerTokenView,
} from '../../../shared/admin-api.ts';
import type { AdminApp } from './app.svelte.ts';

export const TRUST_REFRESH_MS = 4000;

const STATE_ORDER: Record<ContributorTrust['state'], number> = { banned: 0, probation: 1, trusted: 2 };

/** Banned first, then those with strikes (most first), then probation before trusted, then the most recently seen. */
export function trustOrder(a: ContributorTrust, b: ContributorTrust): number {
  const struck = (c: ContributorTrust) => (c.state === 'banned' ? 0 : c.strikes > 0 ? 1 : 2);
  return (
    struck(a) - struck(b) ||
    b.strikes - a.strikes ||
    STATE_ORDER[a.state] - STATE_ORDER[b.state] ||
    b.updatedAt - a.updatedAt ||
    (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : a.value < b.value ? -1 : 1)
  );
}

export class TrustState {
  contributors = $state.raw<ContributorTrust[]>([]);
  settings = $state.raw<TrustList['settings'] | null>(null);
  bans = $state.raw<BanView[]>([]);
  tokens = $state.raw<WorkerTokenView[]>([]);
  /** The token just issued: shown once, until dismissed or the page is left. */
  issued = $state.raw<IssuedWorkerToken | null>(null);
  issuing = $state(false);
  loaded = $state(false);
  error = $state<string | null>(null);
  private timer: ReturnType<typeof setInterval> | null = null;
  private loading: Promise<void> | null = null;
  private readonly app: AdminApp;

  constructor(app: AdminApp) {
    this.app = app;
  }

  /** Loads now and again every TRUST_REFRESH_MS; returns the function that stops. */
  follow(): () => void {
    void this.load();
    this.timer ??= setInterval(() => void this.load(), TRUST_REFRESH_MS);
    return () => {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
    };
  }

  /** Reads the three lists (one load at a time: a slow hub is not asked again meanwhile). */
  load(): Promise<void> {
    this.loading ??= this.read().finally(() => (this.loading = null));
    return this.loading;
  }

  private async read(): Promise<void> {
    try {
      const [trust, bans, tokens] = await Promise.all([
        this.app.api.get<TrustList>('/trust'),
        this.app.api.get<BanList>('/bans'),
        this.app.api.get<WorkerTokenList>('/worker-tokens'),
      ]);
      this.contributors = [...trust.contributors].sort(trustOrder);
      this.settings = trust.settings;
      this.bans = bans.bans;
      this.tokens = tokens.tokens;
      this.error = null;
    } catch (error) {
      this.error = (error as Error).message;
    } finally {
      this.loaded = true;
    }
  }

  async unban(ban: BanView): Promise<void> {
    const ok = await this.app.confirm({
      title: `Unban ${ban.kind === 'client' ? 'this browser' : ban.value}?`,
      body:
        ban.kind === 'client'
          ? `The browser ${ban.value} may connect again and starts over on probation: every result of it is checked again. A ban on its address, if any, stays.`
          : `Contributors from ${ban.value} may connect again; each starts over on probation. A ban on a browser from there stays.`,
      confirmLabel: 'Unban',
      danger: false,
    });
    if (!ok) return;
    const path = `/bans/${encodeURIComponent(ban.kind)}/${encodeURIComponent(ban.value)}`;
    const done = await this.app.attempt(() => this.app.api.delete(path).then(() => true), `Unbanned ${ban.value}`);
    if (done) await this.refresh();
  }

  /** Issues a worker token for `name`; true when it was issued (the token is then in `issued`). */
  async issue(name: string): Promise<boolean> {
    this.issuing = true;
    try {
      const issued = await this.app.attempt(() => this.app.api.post<IssuedWorkerToken>('/worker-tokens', { name }));
      if (!issued) return false;
      this.issued = issued;
      await this.refresh();
      return true;
    } finally {
      this.issuing = false;
    }
  }

  /** The command lines that start edge workers with the issued token, against this hub as the console reaches it. */
  get commands(): { flag: string; env: string } | null {
    return this.issued ? tokenCommands(location.origin, this.issued.token) : null;
  }

  async copy(text: string, what: string): Promise<void> {
    try {
      await navigator.clipboard.writeText(text);
      this.app.notify('ok', `Copied ${what}`);
    } catch {
      // No clipboard outside a secure context (plain http beyond localhost): the text is on screen to select.
      this.app.notify('error', `Could not copy: select the ${what} and copy it by hand`);
    }
  }

  dismissIssued(): void {
    this.issued = null;
  }

  async revoke(token: WorkerTokenView): Promise<void> {
    const ok = await this.app.confirm({
      title: `Revoke the token "${token.name}"?`,
      body: 'Workers connected with it are disconnected, and it is refused from now on. Edge workers may still join without a token, as ordinary contributors whose results are checked.',
      confirmLabel: 'Revoke',
      danger: true,
    });
    if (!ok) return;
    const done = await this.app.attempt(() => this.app.api.delete(`/worker-tokens/${encodeURIComponent(token.id)}`).then(() => true), `Revoked "${token.name}"`);
    if (done) {
      if (this.issued?.id === token.id) this.issued = null;
      await this.refresh();
    }
  }

  /** After an action: waits for a load under way, then reads again. */
  async refresh(): Promise<void> {
    await this.loading;
    await this.load();
  }
}

/** The commands that start edge workers with a token, for the operator to copy. */
export function tokenCommands(hubUrl: string, token: string): { flag: string; env: string } {
  return {
    flag: `crowdcrawl workers --hub ${hubUrl} --token ${token}`,
    env: `CROWDCRAWL_WORKER_TOKEN=${token} crowdcrawl workers --hub ${hubUrl}`,
  };
}
