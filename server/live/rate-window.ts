// A per-second event counter for the live feeds' rates (pages a minute, pages a second).
/** Counts events per second over the last `seconds` seconds, in constant memory. */
export class RateWindow {
  private readonly counts: number[];
  private readonly stamps: number[];

  constructor(seconds = 60) {
    this.counts = new Array<number>(seconds).fill(0);
    this.stamps = new Array<number>(seconds).fill(-1);
  }

  add(now: number, n = 1): void {
    const second = Math.floor(now / 1000);
    const i = second % this.counts.length;
    if (this.stamps[i] !== second) {
      this.stamps[i] = second;
      this.counts[i] = 0;
    }
    this.counts[i]! += n;
  }

  /** Events in the last `seconds` whole seconds, the current one included. */
  sum(now: number, seconds = this.counts.length): number {
    const second = Math.floor(now / 1000);
    let total = 0;
    for (let i = 0; i < this.counts.length; i++) {
      const stamp = this.stamps[i]!;
      if (stamp > second - seconds && stamp <= second) total += this.counts[i]!;
    }
    return total;
  }
}
