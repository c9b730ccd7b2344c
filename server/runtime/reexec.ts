// Runs a long-running process (the hub, a Node worker) with the environment
// and node flags its memory needs, which it cannot give itself once started:
//
// - MALLOC_ARENA_MAX=2: glibc gives each thread that mallocs its own arena (up
//   to 8 per core) and keeps what each one held at its peak. V8's compiler
//   threads, libuv's pool, the hub's extraction thread and SQLite each left
//   tens of MB in arenas of their own (docs/performance.md, "Memory"). glibc
//   reads the variable once, when the process starts.
// - --max-semi-space-size: V8 reads it only when it sets the heap up
//   (server/runtime/heap-sizing.ts does what it can from inside a process).
//
// So the process replaces itself, once, with the same node, the same node
// flags, script and arguments, plus these (process.execve, Node 24): same pid,
// same stdin/stdout/stderr, so a supervisor's signals and the exit code are
// the new program's own; nothing to forward. It must be called before anything
// is started (sockets, threads, files): execve drops them without a word.
//
// What the operator set wins: an environment variable or node flag already
// there is kept as it is. CROWDCRAWL_NO_REEXEC=1 turns it off. The process it
// starts is marked (CROWDCRAWL_REEXECED, removed from its environment at once,
// so its own children re-exec themselves), so it can never loop.
import { flagSetByOperator } from './heap-sizing.ts';

/** What the re-executed process gets, unless the operator set it already. */
export interface RuntimeSettings {
  /** Environment variables (e.g. MALLOC_ARENA_MAX). */
  env: Readonly<Record<string, string>>;
  /** Node flags, by name without the dashes, e.g. { 'max-semi-space-size': '8' }. */
  nodeFlags: Readonly<Record<string, string>>;
}

/** What `crowdcrawl hub` and `crowdcrawl worker` use: see docs/performance.md, "Memory", for the measurements. */
export const LONG_RUN_SETTINGS: RuntimeSettings = {
  env: { MALLOC_ARENA_MAX: '2' },
  nodeFlags: { 'max-semi-space-size': '8' },
};

/** Set in the re-executed process's environment (and removed by it): the guard against a loop. */
export const REEXEC_MARK = 'CROWDCRAWL_REEXECED';
/** CROWDCRAWL_NO_REEXEC=1: the operator's way to keep the process as started. */
export const REEXEC_OPT_OUT = 'CROWDCRAWL_NO_REEXEC';

export interface ReexecPlan {
  file: string;
  args: string[];
  env: Record<string, string>;
}

/** The execve to make, or undefined when there is nothing to change (or it is off, or done already). */
export function planReexec(settings: RuntimeSettings, proc: Pick<NodeJS.Process, 'env' | 'execArgv' | 'argv' | 'execPath' | 'platform'> = process): ReexecPlan | undefined {
  if (proc.env[REEXEC_MARK] !== undefined || proc.env[REEXEC_OPT_OUT] === '1' || proc.platform === 'win32') return undefined;
  const addEnv = Object.entries(settings.env).filter(([name]) => proc.env[name] === undefined);
  const nodeOptions = proc.env.NODE_OPTIONS ?? '';
  const addFlags = Object.entries(settings.nodeFlags)
    .filter(([flag]) => !flagSetByOperator(flag, proc.execArgv, nodeOptions))
    .map(([flag, value]) => `--${flag}=${value}`);
  if (addEnv.length === 0 && addFlags.length === 0) return undefined;
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(proc.env)) if (value !== undefined) env[name] = value;
  for (const [name, value] of addEnv) env[name] = value;
  env[REEXEC_MARK] = '1';
  // argv[0] is node's own name for itself; argv[1] the script; the rest its arguments.
  return { file: proc.execPath, args: [proc.execPath, ...proc.execArgv, ...addFlags, ...proc.argv.slice(1)], env };
}

/**
 * Replaces this process with itself under `settings` (see the top of this file);
 * returns only when it does not (nothing to change, turned off, done already, or
 * execve unavailable or failed: the process then goes on as it is).
 */
export function reexecWithSettings(settings: RuntimeSettings = LONG_RUN_SETTINGS): void {
  const plan = planReexec(settings);
  // The re-executed process: drop the mark, so a crowdcrawl it starts re-execs itself.
  delete process.env[REEXEC_MARK];
  if (!plan || typeof process.execve !== 'function') return;
  try {
    process.execve(plan.file, plan.args, plan.env);
  } catch (error) {
    // Still the same process, unchanged: run as it is rather than not at all.
    process.emitWarning(`crowdcrawl: could not restart with ${Object.keys(settings.env).join(', ')} (${(error as Error).message}); running without`);
  }
}
