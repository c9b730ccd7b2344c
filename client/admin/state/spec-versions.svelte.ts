// A crawl's spec versions on its page: every version with the items extracted
// under it and the queued URLs it dropped, and the editor (the new-crawl
// editor's, over the current spec without its version) that pushes a new one
// to the running crawl (PUT /api/crawls/:id/spec).
import { ApiError } from '../lib/api.ts';
import type { SpecUpdated, SpecVersionList } from '../../../shared/admin-api.ts';
import { ErrorCode } from '../../../shared/errors.ts';
import type { AdminApp } from './app.svelte.ts';
import { CrawlEditor } from './editor.svelte.ts';

/** The list is read again at most this often while items come in. */
const RELOAD_MS = 5000;

export class SpecVersionsView {
  readonly id: string;
  readonly editor: CrawlEditor;
  list = $state.raw<SpecVersionList | null>(null);
  error = $state<string | null>(null);
  editing = $state(false);
  pushing = $state(false);
  pushError = $state.raw<ApiError | null>(null);
  private readonly app: AdminApp;
  private loadedAt = 0;

  constructor(app: AdminApp, id: string) {
    this.app = app;
    this.id = id;
    this.editor = new CrawlEditor(app.api);
  }

  async load(): Promise<void> {
    this.loadedAt = Date.now();
    try {
      this.list = await this.app.api.get<SpecVersionList>(`/crawls/${encodeURIComponent(this.id)}/versions`);
      this.error = null;
    } catch (error) {
      this.error = (error as Error).message;
    }
  }

  /** Items arrived: the per-version counts are read again, not more often than RELOAD_MS. */
  itemsChanged(): void {
    if (Date.now() - this.loadedAt >= RELOAD_MS) void this.load();
  }

  /** Opens the editor on the current version, without its number: the hub gives the next one. */
  edit(): void {
    const current = this.list?.versions.find((v) => v.current)?.spec;
    const { version: _version, ...spec } = (current ?? {}) as Record<string, unknown>;
    this.editor.load(spec);
    this.pushError = null;
    this.editing = true;
  }

  close(): void {
    this.editing = false;
  }

  /** Pushes the draft as the crawl's next version; answers what the hub did, or null (pushError says why). */
  async push(): Promise<SpecUpdated | null> {
    if (!this.editor.valid || this.pushing) return null;
    this.pushing = true;
    this.pushError = null;
    try {
      const updated = await this.app.api.put<SpecUpdated>(`/crawls/${encodeURIComponent(this.id)}/spec`, { spec: this.editor.draft });
      this.editing = false;
      await this.load();
      return updated;
    } catch (error) {
      this.pushError = error instanceof ApiError ? error : new ApiError(0, ErrorCode.INTERNAL, String(error));
      return null;
    } finally {
      this.pushing = false;
    }
  }
}
