// Bounds V8's young generation in a long-running process (the hub, a Node
// worker), from inside it: the CLI cannot add node flags to the process it
// runs in.
//
// Why: on a machine with several GB of memory, V8 (Node 24) lets each of the
// young generation's two semi-spaces grow to 64 MB. A crawl allocates fast
// (bodies, parse trees, socket frames) and a few MB survive each scavenge
// (the pages in flight), so V8 doubles the semi-spaces until they reach that
// maximum: 128 MB of the 195 MB heap a Node worker had at its peak on the
// docs crawl, and most of the hub's (docs/performance.md, "Memory"). What
// survives a scavenge is small, so bigger semi-spaces buy few fewer
// promotions: with them capped at 8 MB, both processes did the same crawl at
// the same speed and CPU per page.
//
// How: V8 reads --max-semi-space-size only when the heap is set up, but reads
// --semi-space-growth-factor each time it grows the new space. So after every
// garbage collection, growth is turned off (factor 1) once the new space has
// reached the cap, and on again (factor 2) if V8 shrank it below the cap (an
// idle process), so a busy one grows back to it. An explicit
// --max-semi-space-size (on the command line or in NODE_OPTIONS) wins: then
// nothing is done.
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

/** The cap the CLI's hub and worker use, per semi-space, in MB. */
export const DEFAULT_SEMI_SPACE_MB = 8;

export interface YoungGenerationCap {
  /** Stops watching (growth is left as it is). */
  stop(): void;
}

/** Whether this process was started with its own --max-semi-space-size. */
export function semiSpaceSetByOperator(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): boolean {
  return [...execArgv, ...nodeOptions.split(/\s+/)].some((arg) => /^--max[-_]semi[-_]space[-_]size(=|$)/.test(arg));
}

function newSpaceBytes(): number {
  return v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;
}

/**
 * Keeps each semi-space at or under `semiSpaceMb` (the new space, two of them,
 * at twice that). Returns undefined when the operator set the size with a flag.
 */
export function capYoungGeneration(semiSpaceMb = DEFAULT_SEMI_SPACE_MB): YoungGenerationCap | undefined {
  if (semiSpaceSetByOperator()) return undefined;
  const capBytes = semiSpaceMb * 2 * 1024 * 1024;
  let growing = true;
  const check = () => {
    const atCap = newSpaceBytes() >= capBytes;
    if (atCap === !growing) return;
    growing = !atCap;
    v8.setFlagsFromString(`--semi-space-growth-factor=${growing ? 2 : 1}`);
  };
  check();
  // One 'gc' entry per collection, delivered soon after it: well before the
  // several scavenges V8 waits between two growths.
  const observer = new PerformanceObserver(check);
  observer.observe({ entryTypes: ['gc'] });
  return {
    stop() {
      observer.disconnect();
    },
  };
}
