// The project's source files (server/, shared/, client/: .ts and .svelte), read
// once, for the tests that check the code itself (error codes, architecture).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const SOURCE_DIRS = ['server', 'shared', 'client'] as const;
/** Build output and dependencies, not source. */
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'build']);

export interface SourceFile {
  /** From the repository root, with forward slashes (e.g. "server/app.ts"). */
  readonly path: string;
  readonly text: string;
}

function walk(dir: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name) && !entry.name.startsWith('.')) walk(join(dir, entry.name), out);
    } else if (/\.(ts|svelte)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
      out.push(join(dir, entry.name));
    }
  }
}

export function readSourceFiles(): SourceFile[] {
  const paths: string[] = [];
  for (const dir of SOURCE_DIRS) walk(join(ROOT, dir), paths);
  return paths.sort().map((path) => ({ path: relative(ROOT, path).split('\\').join('/'), text: readFileSync(path, 'utf8') }));
}
