// Reading Chromium's own profiles for the tab benchmarks: a DevTools CPU
// profile (Profiler.stop) summed by category and by function, and a trace
// (Tracing, Playwright's browser.startTracing) summed by event name on the
// renderer's main thread, which is what '(program)' in a CPU profile hides
// (HTML parsing, style, task scheduling, GC, IPC).

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber?: number; columnNumber?: number };
  children?: number[];
}
export interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** A profile node's category, from its function and script. */
export function category(node: ProfileNode): string {
  const { functionName: fn, url } = node.callFrame;
  if (fn === '(garbage collector)') return 'garbage collection';
  if (fn === '(program)') return 'browser native (program: parsing, layout, style, IPC)';
  if (fn === '(idle)') return 'idle';
  if (fn === 'parseFromString') return 'DOMParser (native)';
  if (/socket\.io|engine\.io|index-.*\.js/.test(url) && /emit|decode|encode|onPacket|onData|parse/.test(fn)) return 'socket.io';
  // whatwg-url-*.js: the chunk Vite splits off for what extraction shares with the other pages (css-what, parseUrl).
  if (/dom-parser|extract|engine-|whatwg-url/.test(url)) return 'extraction (script)';
  if (url === '') return `native: ${fn || '(anonymous)'}`;
  return 'page scripts (other)';
}

/** A function's name and place, short: `name file:line:column`. */
function functionKey(node: ProfileNode): string {
  const { functionName, url, lineNumber, columnNumber } = node.callFrame;
  const file = url.replace(/^.*\//, '');
  return `${functionName || '(anonymous)'}${file ? ` ${file}:${(lineNumber ?? 0) + 1}:${(columnNumber ?? 0) + 1}` : ''}`;
}

export interface ProfileSummary {
  /** Milliseconds of samples per category. */
  byCategory: Map<string, number>;
  /** Milliseconds of self time per function, with its category. */
  byFunction: Map<string, { ms: number; category: string }>;
  busyMs: number;
}

export function emptySummary(): ProfileSummary {
  return { byCategory: new Map(), byFunction: new Map(), busyMs: 0 };
}

/** Adds a profile's samples to `into` (several tabs' profiles add up). */
export function summarizeProfile(profile: Profile, into: ProfileSummary = emptySummary()): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (const [i, id] of profile.samples.entries()) {
    const node = byId.get(id)!;
    const cat = category(node);
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    into.byCategory.set(cat, (into.byCategory.get(cat) ?? 0) + ms);
    if (cat === 'idle') continue;
    into.busyMs += ms;
    const key = functionKey(node);
    const entry = into.byFunction.get(key) ?? { ms: 0, category: cat };
    entry.ms += ms;
    into.byFunction.set(key, entry);
  }
  return into;
}

/** Lines of a summary, per page: categories, then the top functions (of one category when given). */
export function formatSummary(summary: ProfileSummary, pages: number, options: { top?: number; topCategory?: string } = {}): string[] {
  const lines = [`main threads busy ${(summary.busyMs / pages).toFixed(2)} ms per page (JS thread samples)`];
  for (const [cat, ms] of [...summary.byCategory].sort((a, b) => b[1] - a[1])) lines.push(`  ${cat.padEnd(56)} ${(ms / pages).toFixed(3)} ms/page`);
  const functions = [...summary.byFunction].filter(([, f]) => options.topCategory === undefined || f.category === options.topCategory);
  lines.push(`top self time${options.topCategory ? ` in ${options.topCategory}` : ''}:`);
  for (const [key, f] of functions.sort((a, b) => b[1].ms - a[1].ms).slice(0, options.top ?? 15)) {
    lines.push(`  ${(f.ms / pages).toFixed(3).padStart(7)} ms/page  ${key}`);
  }
  return lines;
}

interface TraceEvent {
  name: string;
  cat: string;
  ph: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  tdur?: number;
  args?: { name?: string };
}

/**
 * Self time per trace event name on the threads named `threadName` (the
 * renderers' 'CrRendererMain'), from complete ('X') events nested by time:
 * CPU time (tdur) where the event has it, else wall time. Only events of the
 * processes in `pids` when given.
 */
export function summarizeTrace(trace: { traceEvents: TraceEvent[] } | TraceEvent[], threadName = 'CrRendererMain'): Map<string, { cpuMs: number; wallMs: number; count: number }> {
  const events = Array.isArray(trace) ? trace : trace.traceEvents;
  const threads = new Set<string>();
  for (const e of events) if (e.ph === 'M' && e.name === 'thread_name' && e.args?.name === threadName) threads.add(`${e.pid}:${e.tid}`);
  const perThread = new Map<string, TraceEvent[]>();
  for (const e of events) {
    if (e.ph !== 'X' || e.dur === undefined) continue;
    const key = `${e.pid}:${e.tid}`;
    if (!threads.has(key)) continue;
    const list = perThread.get(key) ?? [];
    list.push(e);
    perThread.set(key, list);
  }
  const out = new Map<string, { cpuMs: number; wallMs: number; count: number }>();
  for (const list of perThread.values()) {
    list.sort((a, b) => a.ts - b.ts || b.dur! - a.dur!);
    const stack: { end: number; event: TraceEvent; childCpu: number; childWall: number }[] = [];
    const close = (frame: (typeof stack)[number]): void => {
      const e = frame.event;
      const cpu = (e.tdur ?? e.dur!) - frame.childCpu;
      const wall = e.dur! - frame.childWall;
      const entry = out.get(e.name) ?? { cpuMs: 0, wallMs: 0, count: 0 };
      entry.cpuMs += Math.max(0, cpu) / 1000;
      entry.wallMs += Math.max(0, wall) / 1000;
      entry.count++;
      out.set(e.name, entry);
      const parent = stack.at(-1);
      if (parent) {
        parent.childCpu += e.tdur ?? e.dur!;
        parent.childWall += e.dur!;
      }
    };
    for (const e of list) {
      while (stack.length > 0 && stack.at(-1)!.end <= e.ts) close(stack.pop()!);
      stack.push({ end: e.ts + e.dur!, event: e, childCpu: 0, childWall: 0 });
    }
    while (stack.length > 0) close(stack.pop()!);
  }
  return out;
}

/** Lines of a trace summary, per page, the top `top` names by CPU self time. */
export function formatTrace(summary: Map<string, { cpuMs: number; wallMs: number; count: number }>, pages: number, top = 25): string[] {
  let total = 0;
  for (const s of summary.values()) total += s.cpuMs;
  const lines = [`renderer main thread, trace events' self CPU time: ${(total / pages).toFixed(2)} ms per page`];
  for (const [name, s] of [...summary].sort((a, b) => b[1].cpuMs - a[1].cpuMs).slice(0, top)) {
    lines.push(`  ${(s.cpuMs / pages).toFixed(3).padStart(7)} ms/page cpu ${(s.wallMs / pages).toFixed(3).padStart(7)} wall ${(s.count / pages).toFixed(1).padStart(6)}/page  ${name}`);
  }
  return lines;
}
