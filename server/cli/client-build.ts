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

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const ifStale = process.argv.includes('--if-stale');
  buildClient({ ifStale, quiet: ifStale }).then(
    (built) => {
      if (ifStale && !built) console.log('[build] client/dist is up to date');
    },
    (error: unknown) => {
      console.error(`[build] the client pages failed to build: ${(error as Error).message}`);
      process.exitCode = 1;
    },
  );
}
