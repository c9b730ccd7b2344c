// The scheduler: runs saved specs on their cron schedules. It wakes on the
// hub's clock (never a real sleep in tests) at the next occurrence of any
// schedule, or after pollMs at the latest, since in a fleet another hub may
// have changed the schedules. Each run is claimed in storage first, by one
// insert of (schedule, due time): the hub whose insert wins starts the crawl,
// every other hub sees the run taken. A run that comes due while the previous
// one is still going is skipped or queued, as the schedule says.
import type { Clock, ClockTimer } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { ScheduleRow, ScheduleRunRow, Storage } from '../storage/storage.ts';
import { dueOccurrence, nextOccurrence } from './cron.ts';
import { Rounds } from './rounds.ts';

export interface SchedulerOptions {
  storage: Storage;
  clock: Clock;
  log: Logger;
  /** This hub's name in the fleet (recorded on the runs it claims). */
  hubId: string;
  /** The longest the scheduler sleeps before it reads the schedules again. */
  pollMs: number;
  /** Starts a crawl for a run; answers with its id. `previous` is the schedule's latest run that started a crawl. */
  startRun(schedule: ScheduleRow, previous: ScheduleRunRow | undefined): Promise<string>;
  /** Whether a crawl is still running or paused. */
  isActive(crawlId: string): boolean;
  /** After a run started: the schedule's runs, the latest first (retention). */
  onStarted?(schedule: ScheduleRow, runs: ScheduleRunRow[]): Promise<void>;
}

/** How far back the scheduler looks for a schedule's previous and queued runs. */
const RUNS_READ = 50;

export class Scheduler {
  private readonly o: SchedulerOptions;
  private timer: ClockTimer | undefined;
  private readonly rounds: Rounds;
  private closed = false;

  constructor(options: SchedulerOptions) {
    this.o = options;
    this.rounds = new Rounds(() => this.tick(), (error) => this.o.log.error({ err: error }, 'scheduler: a tick failed'));
  }

  start(): void {
    this.kick();
  }

  close(): void {
    this.closed = true;
    this.o.clock.clearTimeout(this.timer);
  }

  /** Looks at the schedules now (after one was created, changed or resumed, or a crawl ended). */
  kick(): void {
    if (this.closed) return;
    // The tick sets the next wake-up itself.
    if (this.rounds.kick()) this.o.clock.clearTimeout(this.timer);
  }

  /** Resolves when the current look at the schedules is over (tests: tick the clock, then await this). */
  idle(): Promise<void> {
    return this.rounds.idle();
  }

  /** When a schedule runs next, for the API (undefined while paused). */
  async nextRunAt(schedule: ScheduleRow): Promise<number | undefined> {
    if (schedule.paused) return undefined;
    const base = Math.max((await this.o.storage.lastScheduleDue(schedule.id)) ?? Number.NEGATIVE_INFINITY, schedule.updatedAt);
    return nextOccurrence(schedule.cron, schedule.timeZone, Math.max(base, this.o.clock.now()));
  }

  /** Runs a schedule once now, as if it had come due (the overlap rules apply; paused or not). */
  async runNow(schedule: ScheduleRow): Promise<void> {
    await this.claim(schedule, this.o.clock.now(), await this.o.storage.listScheduleRuns(schedule.id, RUNS_READ));
  }

  private async tick(): Promise<void> {
    const now = this.o.clock.now();
    let wake = now + this.o.pollMs;
    for (const schedule of await this.o.storage.listSchedules()) {
      if (this.closed) return;
      let runs = await this.o.storage.listScheduleRuns(schedule.id, RUNS_READ);
      if (await this.startQueued(schedule, runs)) runs = await this.o.storage.listScheduleRuns(schedule.id, RUNS_READ);
      if (schedule.paused) continue;
      // Occurrences before the schedule was last changed (or resumed) are not run.
      const base = Math.max(runs[0]?.dueAt ?? Number.NEGATIVE_INFINITY, schedule.updatedAt);
      const due = dueOccurrence(schedule.cron, schedule.timeZone, base, now);
      if (due !== undefined) await this.claim(schedule, due, runs);
      const next = nextOccurrence(schedule.cron, schedule.timeZone, Math.max(base, now));
      if (next !== undefined) wake = Math.min(wake, next);
    }
    if (!this.closed) this.timer = this.o.clock.setTimeout(() => this.kick(), Math.max(0, wake - this.o.clock.now()));
  }

  private async claim(schedule: ScheduleRow, dueAt: number, runs: ScheduleRunRow[]): Promise<void> {
    const { storage, clock, hubId } = this.o;
    if (!(await storage.claimScheduleRun(schedule.id, dueAt, hubId, clock.now()))) return;
    const previous = runs.find((r) => r.crawlId !== null);
    if (previous && this.o.isActive(previous.crawlId!)) {
      const going = `the previous run (crawl ${previous.crawlId}) is still going`;
      if (schedule.overlap === 'queue' && !runs.some((r) => r.state === 'queued')) {
        await storage.setScheduleRun(schedule.id, dueAt, 'claimed', { state: 'queued', message: `${going}: queued behind it` });
      } else {
        const why = schedule.overlap === 'queue' ? `${going} and a run is already queued` : going;
        await storage.setScheduleRun(schedule.id, dueAt, 'claimed', { state: 'skipped', message: why });
        this.o.log.info({ schedule: schedule.id, dueAt }, `schedule "${schedule.name}": run skipped, ${why}`);
      }
      return;
    }
    await this.begin(schedule, dueAt, previous);
  }

  /** A queued run starts once the run before it has ended; taking it from 'queued' is the claim. */
  private async startQueued(schedule: ScheduleRow, runs: ScheduleRunRow[]): Promise<boolean> {
    const queued = runs.find((r) => r.state === 'queued');
    if (!queued) return false;
    const previous = runs.find((r) => r.crawlId !== null);
    if (previous && this.o.isActive(previous.crawlId!)) return false;
    if (!(await this.o.storage.setScheduleRun(schedule.id, queued.dueAt, 'queued', { state: 'claimed', hub: this.o.hubId }))) return false;
    await this.begin(schedule, queued.dueAt, previous);
    return true;
  }

  private async begin(schedule: ScheduleRow, dueAt: number, previous: ScheduleRunRow | undefined): Promise<void> {
    const { storage, clock } = this.o;
    let crawlId: string;
    try {
      crawlId = await this.o.startRun(schedule, previous);
    } catch (error) {
      const message = (error as Error).message;
      await storage.setScheduleRun(schedule.id, dueAt, 'claimed', { state: 'failed', message });
      this.o.log.warn({ schedule: schedule.id, dueAt }, `schedule "${schedule.name}": the run could not start: ${message}`);
      return;
    }
    await storage.setScheduleRun(schedule.id, dueAt, 'claimed', { state: 'started', crawlId, startedAt: clock.now() });
    this.o.log.info({ schedule: schedule.id, crawl: crawlId, dueAt }, `schedule "${schedule.name}": started crawl ${crawlId}`);
    await this.o.onStarted?.(schedule, await storage.listScheduleRuns(schedule.id, RUNS_READ));
  }
}
