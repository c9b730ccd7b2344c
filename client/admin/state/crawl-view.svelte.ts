// One crawl's page: its detail from the API (spec, counts), its live progress
// and details from the socket, the actions on it, and its results table (pages
// of items, with a search on the hub).
import type { AdminCrawlDetail, AdminCrawlProgress } from '../../../shared/admin-protocol.ts';
import { ApiError } from '../lib/api.ts';
import type { CrawlDetail, CrawlSummary, ItemsPage, ItemView } from '../../../shared/admin-api.ts';
import type { AdminApp } from './app.svelte.ts';
import { ErrorCode } from '../../../shared/errors.ts';

export const RESULTS_PAGE_SIZE = 25;

export type CrawlAction = 'pause' | 'resume' | 'cancel' | 'start';

const ACTION_QUESTIONS: Record<CrawlAction, { title: string; body: string; confirmLabel: string; danger: boolean; done: string }> = {
  start: { title: 'Start this crawl?', body: 'Workers will start fetching its pages.', confirmLabel: 'Start', danger: false, done: 'Crawl started' },
  pause: {
    title: 'Pause this crawl?',
    body: 'No new pages are handed out and the pages in flight are taken back from the workers. Nothing is lost; resume at any time.',
    confirmLabel: 'Pause',
    danger: false,
    done: 'Crawl paused',
  },
  resume: { title: 'Resume this crawl?', body: 'Workers get its pages again.', confirmLabel: 'Resume', danger: false, done: 'Crawl resumed' },
  cancel: {
    title: 'Cancel this crawl?',
    body: 'It ends for good: its queue is dropped and the pages in flight are taken back. The results so far stay and can be exported.',
    confirmLabel: 'Cancel crawl',
    danger: true,
    done: 'Crawl cancelled',
  },
};

export class CrawlView {
  readonly id: string;
  detail = $state.raw<CrawlDetail | null>(null);
  loadError = $state<string | null>(null);
  acting = $state<CrawlAction | null>(null);
  items = $state.raw<ItemView[]>([]);
  itemsTotal = $state<number | null>(null);
  itemsNext = $state<number | null>(null);
  itemsLoading = $state(false);
  itemsError = $state<string | null>(null);
  /** The search as typed; `search` is the one applied. */
  query = $state('');
  search = $state('');
  /** `after` cursors of the pages before this one. */
  private cursors = $state<number[]>([]);
  private after = 0;
  private readonly app: AdminApp;

  /** Live progress, falling back to the API's summary before the socket's first update. */
  readonly progress: AdminCrawlProgress | null = $derived.by(() => {
    const live = this.app.live.crawl(this.id);
    if (live) return live;
    const d = this.detail;
    if (!d) return null;
    return {
      id: d.id, name: d.name, status: d.status, finishReason: d.finishReason, createdAt: d.createdAt, startedAt: d.startedAt,
      finishedAt: d.finishedAt, done: d.pagesDone, failed: d.pagesFailed, skipped: d.pagesSkipped, queued: d.queued,
      inFlight: d.inFlight, items: d.items, maxPages: d.spec.limits?.maxPages ?? null, pagesPerSecond: 0,
      validation: d.validation,
    };
  });
  readonly live: AdminCrawlDetail | null = $derived.by(() => (this.app.live.detail?.crawlId === this.id ? this.app.live.detail : null));
  readonly pageNumber = $derived(this.cursors.length + 1);
  /** Items in the crawl (live); unknown for a search. */
  readonly total: number | null = $derived.by(() => (this.search ? null : (this.progress?.items ?? this.itemsTotal)));
  readonly columns: string[] = $derived.by(() => {
    const names: string[] = [];
    const items = this.detail?.spec.items;
    if (Array.isArray(items)) {
      for (const rule of items as { fields?: Record<string, unknown> }[]) {
        for (const name of Object.keys(rule.fields ?? {})) if (!names.includes(name)) names.push(name);
      }
    }
    for (const item of this.items) for (const name of Object.keys(item.data)) if (!names.includes(name)) names.push(name);
    return names;
  });

  constructor(app: AdminApp, id: string) {
    this.app = app;
    this.id = id;
  }

  async load(): Promise<void> {
    try {
      this.detail = await this.app.api.get<CrawlDetail>(`/crawls/${encodeURIComponent(this.id)}`);
      this.loadError = null;
    } catch (error) {
      this.loadError = error instanceof ApiError && error.code === ErrorCode.CRAWL_UNKNOWN ? 'There is no such crawl on this hub.' : (error as Error).message;
    }
  }

  async act(action: CrawlAction): Promise<void> {
    const question = ACTION_QUESTIONS[action];
    const ok = await this.app.confirm(question);
    if (!ok) return;
    this.acting = action;
    const summary = await this.app.attempt(
      () => this.app.api.post<CrawlSummary>(`/crawls/${encodeURIComponent(this.id)}/${action}`),
      question.done,
    );
    this.acting = null;
    if (summary) await this.load();
  }

  exportHref(format: 'jsonl' | 'json' | 'csv'): string {
    return `/api/crawls/${encodeURIComponent(this.id)}/export?format=${format}`;
  }

  async loadItems(): Promise<void> {
    this.itemsLoading = true;
    try {
      const params = new URLSearchParams({ limit: String(RESULTS_PAGE_SIZE), after: String(this.after) });
      if (this.search) params.set('q', this.search);
      const page = await this.app.api.get<ItemsPage>(`/crawls/${encodeURIComponent(this.id)}/items?${params}`);
      this.items = page.items;
      this.itemsNext = page.next;
      this.itemsTotal = page.total;
      this.itemsError = null;
    } catch (error) {
      this.itemsError = (error as Error).message;
    } finally {
      this.itemsLoading = false;
    }
  }

  applySearch(): void {
    this.search = this.query.trim();
    this.cursors = [];
    this.after = 0;
    void this.loadItems();
  }

  nextPage(): void {
    if (this.itemsNext === null) return;
    this.cursors = [...this.cursors, this.after];
    this.after = this.itemsNext;
    void this.loadItems();
  }

  previousPage(): void {
    if (this.cursors.length === 0) return;
    this.after = this.cursors.at(-1)!;
    this.cursors = this.cursors.slice(0, -1);
    void this.loadItems();
  }
}
