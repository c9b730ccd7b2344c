// Before/after of the browser extraction engine in one browser, one session:
// builds the extraction bundle of a git revision (`before`) and of the work
// tree (or of a second revision), loads both into one headless Chromium page
// and runs them in turn over the docs fixture's pages (the tabs bench's crawl
// spec), measuring the renderer main thread's CPU per page for each. Turns
// alternate, so a shared machine's changing load falls on both alike.
// `node bench/extract-ab.ts REV [REV2] [pages per turn]`. Not part of `npm run bench`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertSpec } from '../shared/spec/schema.ts';
import { launchChromium } from '../server/browser/chromium.ts';
import { docsSite } from '../test/fixtures/site/docs.ts';
import { docsCrawlSpec, median, root } from './lib.ts';
import { rendererMainThreadCpuMs } from './renderer-cpu.ts';

const [before, after, perTurnArg] = process.argv.slice(2);
if (!before) throw new Error('usage: node bench/extract-ab.ts REV [REV2|worktree] [pages per turn]');
const PER_TURN = Number(perTurnArg ?? 500);
const TURNS = 6;

/** The extraction bundle's code for a revision (the work tree when `rev` is undefined or 'worktree'). */
async function bundleOf(rev: string | undefined): Promise<string> {
  let dir = root;
  let temporary: string | undefined;
  if (rev !== undefined && rev !== 'worktree') {
    temporary = mkdtempSync(join(tmpdir(), 'crowdcrawl-ab-'));
    execFileSync('sh', ['-c', `git -C "${root}" archive "${rev}" shared client/extract client/tsconfig.json tsconfig.json package.json | tar -x -C "${temporary}"`]);
    symlinkSync(join(root, 'node_modules'), join(temporary, 'node_modules'));
    dir = temporary;
  }
  try {
    const vite = await import('vite');
    const output = await vite.build({
      configFile: false,
      root: dir,
      logLevel: 'warn',
      mode: 'production',
      build: { write: false, emptyOutDir: false, minify: false, copyPublicDir: false, target: 'es2022', lib: { entry: join(dir, 'client/extract/browser-entry.ts'), formats: ['iife'], name: 'ab', fileName: () => 'ab.js' } },
    });
    for (const result of Array.isArray(output) ? output : [output]) {
      if (!('output' in result)) continue;
      for (const chunk of result.output) if (chunk.type === 'chunk' && chunk.isEntry) return chunk.code;
    }
    throw new Error(`no bundle built for ${rev ?? 'the work tree'}`);
  } finally {
    if (temporary) rmSync(temporary, { recursive: true, force: true });
  }
}

const ORIGIN = 'http://docs.example';
const docs = docsSite({ pages: 1000 });
const pages = docs.paths.slice(100, 200).map((path) => ({ html: docs.pages.get(path)!.body.toString('utf8'), url: ORIGIN + path }));
const spec = assertSpec(docsCrawlSpec(`${ORIGIN}/`));
const variants = { before: await bundleOf(before), after: await bundleOf(after) };

const browser = await launchChromium();
try {
  const page = await browser.newPage();
  for (const [name, code] of Object.entries(variants)) {
    await page.addScriptTag({ content: code });
    await page.evaluate((name) => {
      const g = globalThis as unknown as Record<string, unknown>;
      g[`extract_${name}`] = g.crowdcrawlExtract;
    }, name);
  }
  // DOMParser alone, the same in both: what extraction adds is the difference.
  await page.evaluate(() => {
    const g = globalThis as unknown as Record<string, unknown> & { crowdcrawlParse: (html: string) => void };
    g.extract_parse = (html: string) => g.crowdcrawlParse(html);
  });
  const same = await page.evaluate(({ pages, spec }) => {
    const g = globalThis as unknown as Record<string, (...a: unknown[]) => unknown>;
    return pages.every((p) => JSON.stringify(g.extract_before!(p.html, spec, p.url)) === JSON.stringify(g.extract_after!(p.html, spec, p.url)));
  }, { pages, spec });
  const cpu: Record<string, number[]> = { before: [], after: [], parse: [] };
  const wall: Record<string, number[]> = { before: [], after: [], parse: [] };
  for (let turn = -1; turn < TURNS; turn++) {
    for (const name of turn % 2 === 0 ? ['before', 'after', 'parse'] : ['parse', 'after', 'before']) {
      const cpuStart = rendererMainThreadCpuMs();
      const ms = await page.evaluate(({ pages, spec, name, count }) => {
        const run = (globalThis as unknown as Record<string, (...a: unknown[]) => unknown>)[`extract_${name}`]!;
        const start = performance.now();
        for (let i = 0; i < count; i++) run(pages[i % pages.length]!.html, spec, pages[i % pages.length]!.url);
        return performance.now() - start;
      }, { pages, spec, name, count: PER_TURN });
      if (turn < 0) continue; // warm-up turn
      cpu[name]!.push((rendererMainThreadCpuMs() - cpuStart) / PER_TURN);
      wall[name]!.push(ms / PER_TURN);
    }
  }
  console.log(`docs pages, parse + extract, ${TURNS} turns of ${PER_TURN} pages each; results identical: ${same}`);
  const label = { before, after: after ?? 'worktree', parse: 'DOMParser only' } as Record<string, string>;
  for (const name of ['before', 'after', 'parse']) {
    console.log(`${name.padEnd(6)} ${label[name]!.padEnd(14)} renderer CPU ${median(cpu[name]!).toFixed(3)} ms/page (turns ${cpu[name]!.map((v) => v.toFixed(2)).join(' ')}), wall ${median(wall[name]!).toFixed(3)} ms/page`);
  }
} finally {
  await browser.close();
}
