// Sizes V8's heap for a long-running process (the hub, a Node worker) from
// inside it: the CLI cannot add node flags to the process it runs in, and V8's
// defaults on a machine with several GB of memory let a crawl's garbage take
// three times the memory its live objects do (docs/performance.md, "Memory").
//
// - The young generation: V8 (Node 24) lets each of its two semi-spaces grow
//   to 64 MB. A crawl allocates fast (bodies, parse trees, socket frames) and a
//   few MB survive each scavenge (the pages in flight), so V8 doubles them up to
//   that maximum: 128 MB of the 195 MB heap a Node worker had at its peak on the
//   docs crawl. V8 reads --max-semi-space-size only when the heap is set up,
//   but --semi-space-growth-factor each time it grows the new space: so after
//   each garbage collection, growth is turned off (factor 1) once the new space
//   has reached the cap, and on again (factor 2) if V8 shrank it below (an idle
//   process), so a busy one grows back.
// - The old generation: after each mark-compact V8 lets it grow to up to 4×
//   what survived before the next one; the worker's live heap is ~30 MB, its
//   heap held 110 MB at the peak, nearly all of it garbage (heap snapshots: no
//   leak). --heap-growing-percent (read at every mark-compact) makes that
//   headroom a fixed share of the live heap.
//
// A flag the operator gave (command line or NODE_OPTIONS) wins over either.
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

export interface HeapSizing {
  /** Each semi-space's cap, in MB (the new space is two of them). */
  semiSpaceMb: number;
  /** The old generation may grow this many percent over what survived the last mark-compact. */
  heapGrowingPercent: number;
}

/** What the CLI's hub and worker use: see docs/performance.md, "Memory", for the measurements. */
export const DEFAULT_HEAP_SIZING: HeapSizing = { semiSpaceMb: 8, heapGrowingPercent: 50 };

export interface HeapSizingHandle {
  /** Stops watching the new space (flags already set stay). */
  stop(): void;
}

/** Whether this process was started with its own `flag` (e.g. "max-semi-space-size"), on the command line or in NODE_OPTIONS. */
export function flagSetByOperator(flag: string, execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): boolean {
  const pattern = new RegExp(`^--${flag.replace(/[-_]/g, '[-_]')}(=|$)`);
  return [...execArgv, ...nodeOptions.split(/\s+/)].some((arg) => pattern.test(arg));
}

function newSpaceBytes(): number {
  return v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;
}

export function sizeHeapForLongRun(sizing: HeapSizing = DEFAULT_HEAP_SIZING): HeapSizingHandle {
  if (!flagSetByOperator('heap-growing-percent')) v8.setFlagsFromString(`--heap-growing-percent=${sizing.heapGrowingPercent}`);
  if (flagSetByOperator('max-semi-space-size')) return { stop() {} };
  const capBytes = sizing.semiSpaceMb * 2 * 1024 * 1024;
  let growing = true;
  const check = () => {
    const atCap = newSpaceBytes() >= capBytes;
    if (atCap === !growing) return;
    growing = !atCap;
    v8.setFlagsFromString(`--semi-space-growth-factor=${growing ? 2 : 1}`);
  };
  check();
  // One 'gc' entry per collection, delivered soon after it: usually well before
  // the several scavenges V8 waits between two growths (a long synchronous
  // stretch can let it grow one step further).
  const observer = new PerformanceObserver(check);
  observer.observe({ entryTypes: ['gc'] });
  return { stop: () => observer.disconnect() };
}
