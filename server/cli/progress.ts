// One status line, redrawn in place on a terminal; on a pipe or a file, a line
// at most every few seconds so logs stay readable.
import { Writable } from 'node:stream';

export class ProgressLine {
  private readonly out: Writable & { isTTY?: boolean; columns?: number };
  private lastPrinted = 0;
  private lastText = '';
  private readonly intervalMs: number;

  constructor(out: Writable & { isTTY?: boolean; columns?: number }, intervalMs = 5000) {
    this.out = out;
    this.intervalMs = intervalMs;
  }

  update(text: string): void {
    this.lastText = text;
    if (this.out.isTTY) {
      const width = Math.max(20, (this.out.columns ?? 100) - 1);
      this.out.write(`\r\x1b[2K${text.slice(0, width)}`);
    } else if (Date.now() - this.lastPrinted >= this.intervalMs) {
      this.lastPrinted = Date.now();
      this.out.write(`${text}\n`);
    }
  }

  /** Ends the line (a terminal keeps the last state; a log gets it once more). */
  done(): void {
    if (this.out.isTTY) this.out.write('\n');
    else if (this.lastText) this.out.write(`${this.lastText}\n`);
  }
}

/**
 * A stream for log lines written to `out` while a ProgressLine is shown there:
 * on a terminal each write first clears the status line, which the next
 * update draws again below the log line. Says whether `out` is a terminal, so
 * a logger on it still picks its readable format.
 */
export function aboveProgressLine(out: Writable & { isTTY?: boolean }): Writable & { isTTY: boolean } {
  const isTTY = out.isTTY === true;
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      if (isTTY) out.write('\r\x1b[2K');
      out.write(chunk, done);
    },
  });
  return Object.assign(stream, { isTTY });
}
