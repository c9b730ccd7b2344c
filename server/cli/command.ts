// What every sub-command module exports as `command`. A file of its own so the
// sub-commands need not import main.ts, which loads them (no import circle).
export interface Command {
  readonly summary: string;
  /** Runs the command; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}
