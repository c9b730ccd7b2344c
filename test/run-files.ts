// The test files run by test/run.ts, through node:test's run() so that the
// order is ours: the files that take longest start first, and the many short
// ones fill in around them. (`node --test` starts files in alphabetical order,
// and a long file that starts last makes the whole suite wait for it.)
// Arguments: the concurrency, then the files. Exit code 1 when a test failed.
import { run } from 'node:test';
import { spec } from 'node:test/reporters';

/** The slowest files, measured (seconds of one file alone, 2 cores): started first, in this order. */
const SLOWEST_FIRST = [
  'test/client/contributor-page.test.ts', // ~45 s: real Chromium tabs, a network drop
  'test/server/cli/cli.test.ts', // ~30 s: many CLI processes
  'test/server/faults/hub-kill.test.ts', // ~30 s: hubs SIGKILLed and restarted (fault 2 on both backends)
  'test/server/cli/migrate.test.ts', // ~20 s: a crawl on SQLite, migrated, finished on PostgreSQL
  'test/server/cli/preview.test.ts',
  'test/server/cli/workers.test.ts',
  'test/client/admin-console.test.ts',
  'test/server/faults/churn.test.ts',
  'test/shared/extract/conformance.test.ts',
  'test/server/cli/demo.test.ts',
  'test/server/faults/site-outage.test.ts',
  'test/fixtures/site/docs.test.ts',
  'test/server/export/export.test.ts',
  'test/server/faults/hub-faults.test.ts',
];

const [concurrencyArg, ...files] = process.argv.slice(2);
const rank = (file: string) => {
  const i = SLOWEST_FIRST.indexOf(file);
  return i === -1 ? SLOWEST_FIRST.length : i;
};
const ordered = [...files].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));

const stream = run({ files: ordered, concurrency: Number(concurrencyArg), timeout: 300_000, execArgv: ['--disable-warning=ExperimentalWarning'] });
stream.on('test:fail', () => {
  process.exitCode = 1;
});
stream.compose(spec).pipe(process.stdout);
