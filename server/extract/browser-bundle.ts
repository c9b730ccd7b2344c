// Builds the browser side of the extraction engine (client/extract/browser-entry.ts:
// the engine over DOMParser, exposed as `globalThis.crowdcrawlExtract`) into one
// classic script, for tests, benchmarks and `crowdcrawl preview --browser`:
//
//   await page.addScriptTag({ content: await browserExtractBundle() });
//   await page.evaluate(([html, spec, url]) => crowdcrawlExtract(html, spec, url), [...]);
//
// The build runs once per change of its sources: the script is cached under
// node_modules/.cache/crowdcrawl/, named by a hash of every source file it may
// include, so concurrent test processes and later runs reuse it.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;
const ENTRY = join(ROOT, 'client/extract/browser-entry.ts');
const CACHE_DIR = join(ROOT, 'node_modules/.cache/crowdcrawl');
/** Source trees the bundle is made of (plus the installed packages' versions, via the lockfile). */
const SOURCE_DIRS = ['shared', 'client/extract'];

function listSources(dir: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) listSources(path, out);
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
}

function sourceHash(): string {
  const files: string[] = [];
  for (const dir of SOURCE_DIRS) listSources(join(ROOT, dir), files);
  files.sort();
  const hash = createHash('sha256');
  for (const file of files) hash.update(file).update('\0').update(readFileSync(file)).update('\0');
  const lockfile = join(ROOT, 'package-lock.json');
  if (existsSync(lockfile)) hash.update(readFileSync(lockfile));
  return hash.digest('hex').slice(0, 16);
}

async function build(): Promise<string> {
  const vite = await import('vite');
  const output = await vite.build({
    configFile: false,
    root: ROOT,
    logLevel: 'warn',
    mode: 'production',
    build: {
      write: false,
      emptyOutDir: false,
      minify: false,
      sourcemap: false,
      copyPublicDir: false,
      target: 'es2022',
      lib: { entry: ENTRY, formats: ['iife'], name: 'crowdcrawlExtractBundle', fileName: () => 'extract.js' },
    },
  });
  const results = Array.isArray(output) ? output : [output];
  for (const result of results) {
    if (!('output' in result)) continue;
    for (const chunk of result.output) {
      if (chunk.type === 'chunk' && chunk.isEntry) return chunk.code;
    }
  }
  throw new Error('vite build produced no entry chunk for the extraction bundle');
}

let pending: Promise<string> | null = null;

/** The JavaScript text of the browser extraction bundle (built on first use, then cached). */
export function browserExtractBundle(): Promise<string> {
  pending ??= (async () => {
    const file = join(CACHE_DIR, `extract-${sourceHash()}.js`);
    if (existsSync(file)) return readFileSync(file, 'utf8');
    const code = await build();
    mkdirSync(CACHE_DIR, { recursive: true });
    // Write then rename, so a concurrent reader never sees half a file.
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, code);
    renameSync(temporary, file);
    return code;
  })();
  pending.catch(() => {
    pending = null;
  });
  return pending;
}
