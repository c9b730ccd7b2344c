// The layout rules of issue 9, checked on the source itself: no import
// circles, no source file over 400 lines, shared/ standing alone, nothing but
// the CLI importing the composition root, and server/'s steps importing only
// steps before them in the data flow. Imports are read with a plain regex
// (static, re-exports and dynamic import()), which is all this needs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join, normalize } from 'node:path';
import { readSourceFiles, type SourceFile } from './helpers/source-files.ts';

const MAX_LINES = 400;

/**
 * server/'s folders in the order of the data flow (docs/architecture.md): a
 * folder may import from the folders before it, never after. The frontier
 * comes before the crawl that owns it; the engine, which wires the steps,
 * after them; the live views and transport, which call the engine, after it;
 * `app.ts` and `cli/` last.
 */
const SERVER_ORDER = ['storage', 'frontier', 'crawl', 'politeness', 'lease', 'results', 'validate', 'export', 'engine', 'ops', 'live', 'metrics', 'transport', 'app'] as const;
/**
 * Leaves: any step may use them; they import only shared/ and each other. The
 * relay's fetcher is one (robots.txt and sitemaps are fetched with it too), and
 * so are server/options.ts (the hub's option schema), server/clock.ts,
 * server/log.ts and server/runtime/ (how the process sizes its heap and caches
 * compiled code, set before the rest loads).
 */
const SERVER_LEAVES = new Set(['relay', 'extract', 'browser', 'worker', 'runtime', 'options.ts', 'clock.ts', 'log.ts']);

const IMPORT_PATTERNS = [
  /^\s*(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"]+)['"]/gm,
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
];

const files = readSourceFiles();
const known = new Set(files.map((f) => f.path));

/** The project files a file imports (relative specifiers only; packages are not ours). */
function importsOf(file: SourceFile): string[] {
  const out = new Set<string>();
  for (const pattern of IMPORT_PATTERNS) {
    for (const match of file.text.matchAll(pattern)) {
      const specifier = match[1]!;
      if (!specifier.startsWith('.')) continue;
      const target = normalize(join(dirname(file.path), specifier)).split('\\').join('/');
      if (known.has(target)) out.add(target);
    }
  }
  return [...out].sort();
}

const graph = new Map(files.map((f) => [f.path, importsOf(f)]));

/** Which ordered unit of server/ a file is in: a step folder, "app" (app.ts, cli/), or a leaf. */
function serverUnit(path: string): string | undefined {
  if (!path.startsWith('server/')) return undefined;
  const rest = path.slice('server/'.length);
  if (rest === 'options.ts' || rest === 'clock.ts' || rest === 'log.ts') return rest;
  if (!rest.includes('/') || rest.startsWith('cli/')) return 'app';
  return rest.slice(0, rest.indexOf('/'));
}

/** Every import circle, each reported once as a path that ends where it starts. */
export function findCycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  // Tarjan's strongly connected components, then one cycle through each.
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (node: string): void => {
    indexOf.set(node, index);
    low.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node) ?? []) {
      if (!indexOf.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, indexOf.get(next)!));
    }
    if (low.get(node) === indexOf.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (edges.get(node) ?? []).includes(node)) components.push(component);
    }
  };
  for (const node of [...edges.keys()].sort()) if (!indexOf.has(node)) visit(node);
  return components.map((component) => {
    const inside = new Set(component);
    const start = [...component].sort()[0]!;
    // Breadth-first from start back to start, inside the component: the shortest circle through it.
    const previous = new Map<string, string>();
    const queue = [start];
    while (queue.length > 0) {
      const node = queue.shift()!;
      for (const next of edges.get(node) ?? []) {
        if (!inside.has(next)) continue;
        if (next === start) {
          const path = [start];
          for (let at = node; at !== start; at = previous.get(at)!) path.splice(1, 0, at);
          return [...path, start];
        }
        if (!previous.has(next)) {
          previous.set(next, node);
          queue.push(next);
        }
      }
    }
    return [start, start];
  });
}

test('no import circles in server/, shared/ or client/', () => {
  const cycles = findCycles(graph).map((cycle) => cycle.join(' → '));
  assert.deepEqual(cycles, []);
});

test(`no source file over ${MAX_LINES} lines`, () => {
  const long = files
    .filter((f) => !/\.test\.ts$/.test(f.path))
    .map((f) => ({ path: f.path, lines: f.text.split('\n').length - (f.text.endsWith('\n') ? 1 : 0) }))
    .filter((f) => f.lines > MAX_LINES)
    .map((f) => `${f.path}: ${f.lines} lines`);
  assert.deepEqual(long, []);
});

test('shared/ imports neither server/ nor client/', () => {
  const bad = [...graph].flatMap(([from, targets]) =>
    from.startsWith('shared/') ? targets.filter((t) => !t.startsWith('shared/')).map((t) => `${from} → ${t}`) : [],
  );
  assert.deepEqual(bad, []);
});

test('inside server/, only the CLI imports the composition root (server/app.ts)', () => {
  const bad = [...graph].flatMap(([from, targets]) =>
    from.startsWith('server/') && !from.startsWith('server/cli/') && from !== 'server/app.ts' && targets.includes('server/app.ts') ? [from] : [],
  );
  assert.deepEqual(bad, []);
});

/** Imports inside server/ that go against the data flow, as "from → to (why)". */
export function layerViolations(): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) {
    const fromUnit = serverUnit(from);
    if (fromUnit === undefined) continue;
    for (const to of targets) {
      if (to.startsWith('shared/')) continue;
      const toUnit = serverUnit(to);
      if (toUnit === undefined) {
        out.push(`${from} → ${to} (server/ imports client/)`);
        continue;
      }
      if (toUnit === fromUnit) continue;
      if (SERVER_LEAVES.has(fromUnit)) {
        if (!SERVER_LEAVES.has(toUnit)) out.push(`${from} → ${to} (${fromUnit}/ is a leaf: shared/ and other leaves only)`);
        continue;
      }
      if (SERVER_LEAVES.has(toUnit)) continue;
      const a = SERVER_ORDER.indexOf(fromUnit as (typeof SERVER_ORDER)[number]);
      const b = SERVER_ORDER.indexOf(toUnit as (typeof SERVER_ORDER)[number]);
      if (a === -1 || b === -1) out.push(`${from} → ${to} (a folder missing from the order: ${a === -1 ? fromUnit : toUnit})`);
      else if (b > a) out.push(`${from} → ${to} (${fromUnit} comes before ${toUnit})`);
    }
  }
  return out.sort();
}

test("server/'s steps import only steps before them in the data flow", () => {
  assert.deepEqual(layerViolations(), []);
});

test('the import reader sees every kind of import', () => {
  const sample: SourceFile = {
    path: 'server/cli/main.ts',
    text: "import a from './hub.ts';\nimport type { B } from './command.ts';\nexport { c } from '../app.ts';\nconst d = () => import('./demo.ts');\n",
  };
  assert.deepEqual(importsOf(sample), ['server/app.ts', 'server/cli/command.ts', 'server/cli/demo.ts', 'server/cli/hub.ts']);
  const cycles = findCycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['d']], ['e', ['a']]]));
  assert.deepEqual(cycles, [['d', 'd'], ['a', 'b', 'c', 'a']].sort((x, y) => (x[0]! < y[0]! ? -1 : 1)));
});
