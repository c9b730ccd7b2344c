// Builds the pages the hub serves (client/dist) with Vite:
// `node server/cli/client-build.ts [--if-stale]`. With --if-stale it builds only
// when a source is newer than the last build, so `npm start` and `npm run demo`
// (which run it first) cost nothing extra the second time. `crowdcrawl demo`
// calls it too.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = new URL('../../', import.meta.url).pathname;
export const CLIENT_DIST = join(ROOT, 'client/dist');
const CONFIG = join(ROOT, 'client/vite.config.ts');
/** What the build reads (besides installed packages, which the lockfile stands for). */
const SOURCES = ['client', 'shared', 'package-lock.json'];

function newestMtimeMs(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (entry === 'dist' || entry === 'node_modules') continue;
    newest = Math.max(newest, newestMtimeMs(join(path, entry)));
  }
  return newest;
}

/** True when client/dist is missing or older than a source. */
export function clientBuildIsStale(): boolean {
  const built = join(CLIENT_DIST, 'index.html');
  if (!existsSync(built)) return true;
  const builtAt = statSync(built).mtimeMs;
  return SOURCES.some((source) => newestMtimeMs(join(ROOT, source)) > builtAt);
}

export async function buildClient(options: { ifStale?: boolean; quiet?: boolean } = {}): Promise<boolean> {
  if (options.ifStale && !clientBuildIsStale()) return false;
  const vite = await import('vite');
  await vite.build({ configFile: CONFIG, logLevel: options.quiet ? 'warn' : 'info' });
  return true;
}

/**
 * Builds the pages when they are stale. A failed build is not fatal when an
 * earlier build is there (it is used, with a warning); returns false when no
 * build of the contributor page exists at all.
 */
export async function ensureClientBuilt(warn: (line: string) => void = console.error): Promise<boolean> {
  if (!clientBuildIsStale()) return true;
  try {
    await buildClient({ quiet: true });
    return true;
  } catch (error) {
    const first = (error as Error).message.split('\n')[0];
    const previous = existsSync(join(CLIENT_DIST, 'index.html'));
    warn(previous ? `the client pages failed to build (${first}); using the previous build` : `the client pages failed to build (${first})`);
    return previous;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  // --if-stale (npm start, npm run demo): a failed build with an earlier one in place only warns.
  const ifStale = process.argv.includes('--if-stale');
  const built = ifStale
    ? ensureClientBuilt((line) => console.error(`[build] ${line}`))
    : buildClient().then(() => true);
  built.then(
    (ok) => {
      if (!ok) process.exitCode = 1;
    },
    (error: unknown) => {
      console.error(`[build] the client pages failed to build: ${(error as Error).message}`);
      process.exitCode = 1;
    },
  );
}
