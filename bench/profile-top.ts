// Prints where a V8 CPU profile spent its time (self time), by function and by
// package or source folder: `node bench/profile-top.ts FILE.cpuprofile [N]`.
// Used on the hub's profiles (BENCH_HUB_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR")
// for docs/performance.md.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, count] = process.argv.slice(2);
if (!file) throw new Error('usage: node bench/profile-top.ts FILE.cpuprofile [N]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]!;
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
}

/** The package (node_modules/NAME) or the project folder a script belongs to. */
function area(url: string): string {
  if (url === '') return '(native / V8)';
  const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return url;
  const own = url.match(/\/(server|shared)\/([^/]+)\//);
  return own ? `${own[1]}/${own[2]}` : url.replace(/^.*\//, '');
}

const byFunction = new Map<string, number>();
const byArea = new Map<string, number>();
let total = 0;
let idle = 0;
for (const [id, us] of selfUs) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  if (functionName === '(idle)') {
    idle += us;
    continue;
  }
  total += us;
  const name = `${functionName || '(anonymous)'} ${url ? `${url.replace(/^.*\/(node_modules|server|shared)\//, '$1/')}:${lineNumber + 1}` : ''}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  byArea.set(area(url), (byArea.get(area(url)) ?? 0) + us);
}
const top = (map: Map<string, number>, n: number) =>
  [...map].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, us]) => `${(us / 1000).toFixed(0).padStart(7)} ms ${((us / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
console.log(`${file}: busy ${(total / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms`);
console.log('by area:');
console.log(top(byArea, 15).join('\n'));
console.log('by function:');
console.log(top(byFunction, Number(count ?? 25)).join('\n'));

// Inclusive time: each function with everything it called (counted once when it recurses).
const inclusive = new Map<string, number>();
const keyOf = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(node_modules|server|shared)\//, '$1/')}:${n.callFrame.lineNumber + 1}`;
function walk(id: number, open: Set<string>): number {
  const node = byId.get(id)!;
  const key = keyOf(node);
  let us = node.callFrame.functionName === '(idle)' ? 0 : (selfUs.get(id) ?? 0);
  const fresh = !open.has(key);
  if (fresh) open.add(key);
  for (const child of node.children ?? []) us += walk(child, open);
  if (fresh) {
    open.delete(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + us);
  }
  return us;
}
walk(profile.nodes[0]!.id, new Set());
const filter = process.argv[4] ? new RegExp(process.argv[4]) : /server\/|shared\/|node_modules/;
console.log('inclusive (with callees):');
console.log(top(new Map([...inclusive].filter(([k]) => filter.test(k))), Number(count ?? 25)).join('\n'));
