// The fleet of hubs sharing this hub's database (GET /api/hubs,
// docs/scale-out.md): read now and every few seconds while the page is shown.
// On SQLite it is this hub alone.
import type { HubList, HubView } from '../../../shared/admin-api.ts';
import type { AdminApp } from './app.svelte.ts';

export const FLEET_REFRESH_MS = 4000;

export class FleetState {
  hubs = $state.raw<HubView[]>([]);
  databaseUnavailableSince = $state<number | null>(null);
  loaded = $state(false);
  error = $state<string | null>(null);
  private readonly app: AdminApp;
  private loading: Promise<void> | null = null;

  constructor(app: AdminApp) {
    this.app = app;
  }

  /** Loads now and again every FLEET_REFRESH_MS; returns the function that stops. */
  follow(): () => void {
    void this.load();
    const timer = setInterval(() => void this.load(), FLEET_REFRESH_MS);
    return () => clearInterval(timer);
  }

  /** One read at a time: a slow hub is not asked again meanwhile. */
  load(): Promise<void> {
    this.loading ??= this.app.api
      .get<HubList>('/hubs')
      .then((list) => {
        this.hubs = list.hubs;
        this.databaseUnavailableSince = list.storage.unavailableSince;
        this.loaded = true;
        this.error = null;
      })
      .catch((error: unknown) => {
        this.error = error instanceof Error ? error.message : String(error);
      })
      .finally(() => (this.loading = null));
    return this.loading;
  }
}
