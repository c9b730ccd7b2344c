// `npm test`: makes sure a Chromium is there for the browser tests, builds the
// client pages the hub serves, then runs every test/**/*.test.ts file with Node's
// own test runner. Extra arguments are passed on (e.g. a file or --test-name-pattern).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ensureChromium } from './setup/ensure-chromium.ts';

const root = new URL('..', import.meta.url).pathname;
const chromiumPath = ensureChromium();
console.log(`[setup] Chromium: ${chromiumPath}`);

if (existsSync(`${root}client/vite.config.ts`)) {
  const build = spawnSync(process.execPath, [`${root}node_modules/vite/bin/vite.js`, 'build', '--config', `${root}client/vite.config.ts`, '--logLevel', 'warn'], { stdio: 'inherit', cwd: root });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const extra = process.argv.slice(2);
const files = extra.some((a) => !a.startsWith('-')) ? [] : ['test/**/*.test.ts'];
const result = spawnSync(
  process.execPath,
  ['--disable-warning=ExperimentalWarning', '--test', '--test-reporter=spec', '--test-timeout=300000', ...extra, ...files],
  { stdio: 'inherit', cwd: root, env: { ...process.env, CROWDCRAWL_CHROMIUM: process.env.CROWDCRAWL_CHROMIUM ?? chromiumPath } },
);
process.exit(result.status ?? 1);
