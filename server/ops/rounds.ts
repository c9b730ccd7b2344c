// One round at a time, kicks coalescing: the scheduler's look at the schedules
// and the deliverer's pass over due webhooks both run when something happened
// (a schedule changed, an event was queued) or a timer fired. A kick while a
// round runs asks for exactly one more round after it, never a second round at
// the same time (two rounds would claim the same runs and deliveries twice).
export class Rounds {
  private readonly round: () => Promise<void>;
  private readonly onError: (error: unknown) => void;
  private readonly after: () => void;
  private running: Promise<void> = Promise.resolve();
  private busy = false;
  private again = false;

  /** `after`: called when a round ends and no kick came meanwhile (e.g. to set the next timer). */
  constructor(round: () => Promise<void>, onError: (error: unknown) => void, after: () => void = () => {}) {
    this.round = round;
    this.onError = onError;
    this.after = after;
  }

  /** Runs a round now, or one more after the current one. False when one is running (this kick is folded into it). */
  kick(): boolean {
    if (this.busy) {
      this.again = true;
      return false;
    }
    this.busy = true;
    this.running = this.round()
      .catch(this.onError)
      .finally(() => {
        this.busy = false;
        if (this.again) {
          this.again = false;
          this.kick();
        } else {
          this.after();
        }
      });
    return true;
  }

  /** Resolves when no round is running. */
  async idle(): Promise<void> {
    while (this.busy) await this.running;
  }
}
