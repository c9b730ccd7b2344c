// Runs a function at most once per interval however often it is asked for:
// the first request schedules a run `intervalMs` later, and every request until
// then shares it. The contributor page copies the worker loop's state into
// Svelte's reactive fields this way, so the panel renders a few times a second
// whatever the page rate (a tab doing 200 pages a second changes state ~800
// times a second).
export class Throttle {
  private readonly run: () => void;
  private readonly intervalMs: number;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(run: () => void, intervalMs: number) {
    this.run = run;
    this.intervalMs = intervalMs;
  }

  /** Asks for a run; it happens within intervalMs (once for any number of requests). */
  request(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.run();
    }, this.intervalMs);
  }

  /** Forgets a pending run. */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  get pending(): boolean {
    return this.timer !== undefined;
  }
}
