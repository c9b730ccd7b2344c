// The specs library page: saved specs, listed, duplicated, renamed and deleted.
// Editing one opens the new-crawl editor with it (/admin/new?spec=ID).
import type { DuplicateSpecRequest, SavedSpec, SavedSpecList, SavedSpecSummary, UpdateSpecRequest } from '../../../shared/admin-api.ts';
import type { AdminApp } from './app.svelte.ts';

export class SpecsState {
  specs = $state.raw<SavedSpecSummary[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);
  private readonly app: AdminApp;

  constructor(app: AdminApp) {
    this.app = app;
  }

  async load(): Promise<void> {
    try {
      this.specs = (await this.app.api.get<SavedSpecList>('/specs')).specs;
      this.error = null;
    } catch (error) {
      this.error = (error as Error).message;
    } finally {
      this.loaded = true;
    }
  }

  async duplicate(spec: SavedSpecSummary): Promise<void> {
    const copy = await this.app.attempt(() => this.app.api.post<SavedSpec>(`/specs/${encodeURIComponent(spec.id)}/duplicate`, {} satisfies DuplicateSpecRequest));
    if (copy) {
      this.app.notify('ok', `Saved a copy as "${copy.name}"`);
      await this.load();
    }
  }

  async rename(spec: SavedSpecSummary, name: string): Promise<boolean> {
    const saved = await this.app.attempt(() => this.app.api.put<SavedSpec>(`/specs/${encodeURIComponent(spec.id)}`, { name } satisfies UpdateSpecRequest), 'Renamed');
    if (saved) await this.load();
    return saved !== undefined;
  }

  async remove(spec: SavedSpecSummary): Promise<void> {
    const ok = await this.app.confirm({
      title: `Delete "${spec.name}"?`,
      body: 'The saved spec goes away. Crawls started from it keep their own copy.',
      confirmLabel: 'Delete',
      danger: true,
    });
    if (!ok) return;
    const done = await this.app.attempt(() => this.app.api.delete(`/specs/${encodeURIComponent(spec.id)}`).then(() => true), 'Deleted');
    if (done) await this.load();
  }
}
