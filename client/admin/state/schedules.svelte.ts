// The schedules page: saved specs run on cron schedules, their next and last
// runs; creating one, pausing, resuming, running now and deleting.
import type { SavedSpecList, SavedSpecSummary } from '../../../shared/admin-api.ts';
import type { OverlapPolicy, ScheduleInput, ScheduleList, ScheduleView } from '../../../shared/ops-api.ts';
import type { AdminApp } from './app.svelte.ts';

/** The new-schedule form. */
export class ScheduleDraft {
  specId = $state('');
  name = $state('');
  cron = $state('0 3 * * *');
  timeZone = $state(Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC');
  overlap = $state<OverlapPolicy>('skip');
  incremental = $state(false);
  keepRuns = $state(0);

  input(): ScheduleInput {
    return {
      specId: this.specId,
      cron: this.cron,
      timeZone: this.timeZone,
      overlap: this.overlap,
      incremental: this.incremental,
      keepRuns: this.keepRuns,
      ...(this.name.trim() ? { name: this.name.trim() } : {}),
    };
  }
}

export class SchedulesState {
  schedules = $state.raw<ScheduleView[]>([]);
  specs = $state.raw<SavedSpecSummary[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);
  /** The form's own error (SCHEDULE_INVALID lists every problem). */
  formError = $state<string | null>(null);
  readonly draft = new ScheduleDraft();
  private readonly app: AdminApp;

  constructor(app: AdminApp) {
    this.app = app;
  }

  async load(): Promise<void> {
    try {
      const [schedules, specs] = await Promise.all([this.app.api.get<ScheduleList>('/schedules'), this.app.api.get<SavedSpecList>('/specs')]);
      this.schedules = schedules.schedules;
      this.specs = specs.specs;
      if (!this.draft.specId && specs.specs[0]) this.draft.specId = specs.specs[0].id;
      this.error = null;
    } catch (error) {
      this.error = (error as Error).message;
    } finally {
      this.loaded = true;
    }
  }

  async create(): Promise<boolean> {
    try {
      await this.app.api.post<ScheduleView>('/schedules', this.draft.input());
      this.formError = null;
      this.app.notify('ok', 'Schedule saved');
      await this.load();
      return true;
    } catch (error) {
      this.formError = (error as Error).message;
      return false;
    }
  }

  async act(schedule: ScheduleView, action: 'pause' | 'resume' | 'run'): Promise<void> {
    const labels = { pause: 'Paused', resume: 'Resumed', run: 'Run started' } as const;
    const done = await this.app.attempt(() => this.app.api.post<ScheduleView>(`/schedules/${encodeURIComponent(schedule.id)}/${action}`), labels[action]);
    if (done) await this.load();
  }

  async setOverlap(schedule: ScheduleView, overlap: OverlapPolicy): Promise<void> {
    const done = await this.app.attempt(() => this.app.api.patch<ScheduleView>(`/schedules/${encodeURIComponent(schedule.id)}`, { overlap }), 'Saved');
    if (done) await this.load();
  }

  async remove(schedule: ScheduleView): Promise<void> {
    const ok = await this.app.confirm({
      title: `Delete the schedule "${schedule.name}"?`,
      body: 'It will not run again. The crawls it started stay.',
      confirmLabel: 'Delete',
      danger: true,
    });
    if (!ok) return;
    const done = await this.app.attempt(() => this.app.api.delete(`/schedules/${encodeURIComponent(schedule.id)}`).then(() => true), 'Deleted');
    if (done) await this.load();
  }
}
