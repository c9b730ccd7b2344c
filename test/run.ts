// `npm test`: makes sure a Chromium is there for the browser tests, starts a
// throwaway PostgreSQL cluster for the PostgreSQL tests (test/setup/postgres.ts;
// its URL goes to every test process as CROWDCRAWL_TEST_DATABASE_URL, unless that
// is set already), builds the client pages the hub serves (when a source changed
// since the last build), then runs every test/**/*.test.ts file with Node's own
// test runner. Extra arguments are passed on (e.g. a file or --test-name-pattern).
//
// Files run in parallel, CROWDCRAWL_TEST_CONCURRENCY at once (default 3): most
// tests wait on sockets and child processes, so a 2-core machine runs the suite
// in about half the time it takes one file at a time (measured; see the commit
// that set it). Each file still runs in its own process. The fault tests wait
// real time scaled by CROWDCRAWL_TEST_TIME_FACTOR (default 0.2; 1 runs them at
// full length), see test/helpers/wait.ts.
import { spawn } from 'node:child_process';
import { globSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureChromium } from './setup/ensure-chromium.ts';
import { startPostgresCluster } from './setup/postgres.ts';
import { buildClient } from '../server/cli/client-build.ts';

const root = new URL('..', import.meta.url).pathname;
const chromiumPath = ensureChromium();
console.log(`[setup] Chromium: ${chromiumPath}`);

// The cluster is stopped when this process exits (test/setup/postgres.ts), which
// it does only after the test processes have: Ctrl-C and SIGTERM are passed on to them.
const databaseUrl = process.env.CROWDCRAWL_TEST_DATABASE_URL ?? (await startPostgresCluster()).url;

if (await buildClient({ ifStale: true, quiet: true })) console.log('[setup] built the client pages');

const concurrency = process.env.CROWDCRAWL_TEST_CONCURRENCY ?? '3';
if (!/^[1-9]\d*$/.test(concurrency)) {
  console.error(`CROWDCRAWL_TEST_CONCURRENCY must be a whole number of files at once, not ${JSON.stringify(concurrency)}`);
  process.exit(2);
}

const extra = process.argv.slice(2);
// The whole suite goes through run-files.ts, which starts the slowest files first;
// a command line of our own (a file, --test-name-pattern) goes to `node --test` as it is.
const args =
  extra.length === 0
    ? [`${root}test/run-files.ts`, concurrency, ...globSync('test/**/*.test.ts', { cwd: root })]
    : ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', '--test-timeout=300000', ...extra];
const child = spawn(
  process.execPath,
  ['--disable-warning=ExperimentalWarning', ...args],
  {
    stdio: 'inherit',
    cwd: root,
    env: {
      ...process.env,
      CROWDCRAWL_CHROMIUM: process.env.CROWDCRAWL_CHROMIUM ?? chromiumPath,
      CROWDCRAWL_TEST_DATABASE_URL: databaseUrl,
      // Every test file, hub and CLI process the tests start compiles the same modules: Node's
      // compile cache (keyed by content) saves about a third of each start-up's CPU.
      NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? join(tmpdir(), 'crowdcrawl-test-compile-cache'),
    },
  },
);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
child.on('exit', (code) => process.exit(code ?? 1));
