// The `crowdcrawl` command line: each sub-command lives in its own module and is
// loaded only when used, so `crowdcrawl preview` does not start a hub's worth of code.
import { pathToFileURL } from 'node:url';
import type { Command } from './command.ts';
import { enableCompileCache } from '../runtime/compile-cache.ts';
import { sizeHeapForLongRun } from '../runtime/heap-sizing.ts';
import { reexecWithSettings } from '../runtime/reexec.ts';

// node:sqlite prints an ExperimentalWarning on Node 24: noise for users, so that
// one warning is dropped; every other warning is printed as usual.
const printWarning = process.listeners('warning');
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name === 'ExperimentalWarning' && /SQLite/i.test(warning.message)) return;
  for (const listener of printWarning) listener(warning);
});

/** Commands that run until stopped, whose peak memory matters (docs/performance.md, "Memory"). */
const LONG_RUNNING: ReadonlySet<string> = new Set(['hub', 'worker']);

// The type's old home: sub-commands import it from command.ts now.
export type { Command } from './command.ts';

const commands: Record<string, () => Promise<{ command: Command }>> = {
  hub: () => import('./hub.ts'),
  crawl: () => import('./crawl.ts'),
  status: () => import('./status.ts'),
  export: () => import('./export.ts'),
  schedule: () => import('./schedule.ts'),
  worker: () => import('./worker.ts'),
  workers: () => import('./workers.ts'),
  preview: () => import('./preview.ts'),
  demo: () => import('./demo.ts'),
  migrate: () => import('./migrate.ts'),
};

async function usage(): Promise<string> {
  const lines = ['usage: crowdcrawl <command> [options]', '', 'commands:'];
  for (const [name, load] of Object.entries(commands)) {
    try {
      const { command } = await load();
      lines.push(`  ${name.padEnd(9)} ${command.summary}`);
    } catch {
      // a command whose module is not there yet is left out of the list
    }
  }
  lines.push('', 'Run "crowdcrawl <command> --help" for a command\'s options.');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(await usage());
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    console.error(`crowdcrawl: unknown command "${name}"\n\n${await usage()}`);
    return 2;
  }
  // Before the command's modules load: they come from the cache from the second
  // start on (and the re-executed process below gets it through the environment).
  enableCompileCache();
  // Before anything is started: a hub or worker replaces itself once with the
  // environment and node flags its memory needs (MALLOC_ARENA_MAX,
  // --max-semi-space-size; server/runtime/reexec.ts). Same pid, stdio, arguments.
  // Loading the command's modules is then the first burst a long-running
  // process's heap should already be sized for (server/runtime/heap-sizing.ts).
  if (LONG_RUNNING.has(name)) reexecWithSettings();
  if (LONG_RUNNING.has(name)) sizeHeapForLongRun();
  const { command } = await load();
  return command.run(rest);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(`crowdcrawl: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    },
  );
}
