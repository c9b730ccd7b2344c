// The new-crawl editor: a form for the common case and a JSON editor for the
// whole spec, over one draft. The form writes only the keys it shows over the
// spec beneath it, so switching either way keeps everything; JSON that does not
// parse keeps the editor in JSON mode until it does. Both are checked on every
// keystroke with the same parseSpec the hub uses, and each problem is shown at
// the input (or the JSON line) it is about. The draft survives a reload
// (sessionStorage) until the crawl starts.
import { parseSpec, type SpecIssue, type SpecResult } from '../../../shared/spec/schema.ts';
import { ApiError, type ApiClient } from '../lib/api.ts';
import type { CreateCrawlRequest, CrawlSummary, PreviewRequest, PreviewResult, SaveSpecRequest, SavedSpec, UpdateSpecRequest } from '../../../shared/admin-api.ts';
import { lineAt, locateJsonPath, parseJsonPath, syntaxErrorLine } from '../lib/json-path.ts';
import { emptyForm, fieldRow, formFromSpec, hiddenSettings, issuesForForm, specFromForm, type FormIssues, type SpecForm } from '../lib/spec-form.ts';
import { ErrorCode } from '../../../shared/errors.ts';

export type EditorMode = 'form' | 'json';

export interface JsonIssue extends SpecIssue {
  line: number;
}

type JsonParse = { ok: true; value: unknown } | { ok: false; message: string; line: number | null };

const DRAFT_KEY = 'crowdcrawl.admin.draft';

export class CrawlEditor {
  mode = $state<EditorMode>('form');
  form = $state<SpecForm>(emptyForm());
  jsonText = $state('');
  /** Why the editor could not switch to the form (the JSON does not parse). */
  switchError = $state<string | null>(null);
  /** The library entry being edited, if the draft came from one. */
  saved = $state.raw<{ id: string; name: string } | null>(null);
  saveName = $state('');
  saving = $state(false);
  previewUrl = $state('');
  previewing = $state(false);
  preview = $state.raw<PreviewResult | null>(null);
  previewError = $state.raw<ApiError | null>(null);
  starting = $state(false);
  startError = $state.raw<ApiError | null>(null);

  /** The spec beneath the form: what the form does not show lives here. */
  private base = $state.raw<unknown>({});
  private readonly api: ApiClient;

  readonly jsonParse: JsonParse = $derived.by(() => {
    try {
      return { ok: true, value: JSON.parse(this.jsonText) as unknown };
    } catch (error) {
      const message = (error as Error).message;
      return { ok: false, message, line: syntaxErrorLine(this.jsonText, message) };
    }
  });

  /** The spec as it stands; undefined while the JSON does not parse. */
  readonly draft: unknown = $derived.by(() => {
    if (this.mode === 'form') return specFromForm(this.base, this.form);
    return this.jsonParse.ok ? this.jsonParse.value : undefined;
  });

  readonly validation: SpecResult | null = $derived(this.draft === undefined ? null : parseSpec(this.draft));
  readonly issues: SpecIssue[] = $derived(this.validation && !this.validation.ok ? this.validation.issues : []);
  readonly formIssues: FormIssues = $derived(issuesForForm(this.issues, this.form));
  readonly jsonIssues: JsonIssue[] = $derived.by(() => {
    if (this.mode !== 'json' || !this.jsonParse.ok) return [];
    return this.issues.map((issue) => {
      const path = parseJsonPath(issue.path) ?? [];
      return { ...issue, line: lineAt(this.jsonText, locateJsonPath(this.jsonText, path)) };
    });
  });
  readonly valid = $derived(this.validation?.ok === true);
  readonly hidden: string[] = $derived(hiddenSettings(this.draft));
  /** The URL a preview fetches: the one typed, else the first start URL. */
  readonly effectivePreviewUrl = $derived(
    this.previewUrl.trim() || (this.validation?.ok ? this.validation.spec.startUrls[0]! : this.form.startUrls.split('\n').find((l) => l.trim() !== '')?.trim() ?? ''),
  );

  constructor(api: ApiClient) {
    this.api = api;
  }

  /** Puts a spec (as written) in the editor, in the current mode. */
  load(spec: unknown, saved: { id: string; name: string } | null = null): void {
    this.base = spec;
    this.form = formFromSpec(spec);
    this.jsonText = JSON.stringify(spec, null, 2);
    this.saved = saved;
    this.saveName = saved?.name ?? '';
    this.switchError = null;
    this.preview = null;
    this.previewError = null;
    this.startError = null;
  }

  /** The draft kept from before a reload, if any. */
  restore(): boolean {
    try {
      const kept = JSON.parse(sessionStorage.getItem(DRAFT_KEY) ?? 'null') as { mode: EditorMode; text: string; saved: CrawlEditor['saved'] } | null;
      if (!kept) return false;
      this.mode = kept.mode;
      this.saved = kept.saved;
      this.saveName = kept.saved?.name ?? '';
      this.jsonText = kept.text;
      if (this.jsonParse.ok) {
        this.base = this.jsonParse.value;
        this.form = formFromSpec(this.jsonParse.value);
      } else this.mode = 'json';
      return true;
    } catch {
      return false;
    }
  }

  persist(): void {
    const text = this.mode === 'json' ? this.jsonText : JSON.stringify(this.draft, null, 2);
    try {
      sessionStorage.setItem(DRAFT_KEY, JSON.stringify({ mode: this.mode, text, saved: this.saved }));
    } catch {
      // storage full or off: the draft just does not survive a reload
    }
  }

  clear(): void {
    sessionStorage.removeItem(DRAFT_KEY);
    this.mode = 'form';
    this.load({});
  }

  switchTo(mode: EditorMode): void {
    if (mode === this.mode) return;
    if (mode === 'json') {
      this.jsonText = JSON.stringify(this.draft, null, 2);
      this.switchError = null;
      this.mode = 'json';
      return;
    }
    const parsed = this.jsonParse;
    if (!parsed.ok) {
      this.switchError = `Fix the JSON first${parsed.line ? ` (line ${parsed.line})` : ''}: ${parsed.message}`;
      return;
    }
    this.base = parsed.value;
    this.form = formFromSpec(parsed.value);
    this.switchError = null;
    this.mode = 'form';
  }

  addField(): void {
    this.form.fields.push(fieldRow());
  }

  removeField(id: number): void {
    this.form.fields = this.form.fields.filter((row) => row.id !== id);
    if (this.form.fields.length === 0) this.form.fields.push(fieldRow());
  }

  async runPreview(): Promise<void> {
    if (!this.valid) return;
    this.previewing = true;
    this.previewError = null;
    try {
      this.preview = await this.api.post<PreviewResult>('/preview', { spec: this.draft, url: this.effectivePreviewUrl } satisfies PreviewRequest);
    } catch (error) {
      this.preview = null;
      this.previewError = error instanceof ApiError ? error : new ApiError(0, ErrorCode.INTERNAL, String(error));
    } finally {
      this.previewing = false;
    }
  }

  /** Creates and starts the crawl; returns it, or null when the hub refused (startError says why). */
  async start(): Promise<CrawlSummary | null> {
    if (!this.valid || this.starting) return null;
    this.starting = true;
    this.startError = null;
    try {
      const crawl = await this.api.post<CrawlSummary>('/crawls', { spec: this.draft, start: true } satisfies CreateCrawlRequest);
      sessionStorage.removeItem(DRAFT_KEY);
      return crawl;
    } catch (error) {
      this.startError = error instanceof ApiError ? error : new ApiError(0, ErrorCode.INTERNAL, String(error));
      return null;
    } finally {
      this.starting = false;
    }
  }

  /** Saves the draft in the library: over the entry it came from, or as a new one named saveName. */
  async save(asNew: boolean): Promise<SavedSpec | null> {
    if (!this.valid) return null;
    this.saving = true;
    try {
      const name = this.saveName.trim() || undefined;
      const saved =
        this.saved && !asNew
          ? await this.api.put<SavedSpec>(`/specs/${encodeURIComponent(this.saved.id)}`, { spec: this.draft, ...(name ? { name } : {}) } satisfies UpdateSpecRequest)
          : await this.api.post<SavedSpec>('/specs', { spec: this.draft, ...(name ? { name } : {}) } satisfies SaveSpecRequest);
      this.saved = { id: saved.id, name: saved.name };
      this.saveName = saved.name;
      return saved;
    } finally {
      this.saving = false;
    }
  }
}
