// CPU time of the Chromium renderers' main threads this process started, read
// from /proc (Linux). On a machine shared with other jobs, wall-clock time per
// page measures the load; CPU time of the thread that did the work does not.
import { existsSync, readdirSync, readFileSync } from 'node:fs';

function parentOf(pid: string): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
  } catch {
    return undefined;
  }
}

function ticks(path: string): number {
  const stat = readFileSync(path, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * Milliseconds of CPU the main threads of every Chromium renderer under this
 * process have used so far (a renderer's main thread has the process's id;
 * the zygote's own, counted with them, stays idle).
 * NaN where /proc is not there.
 */
export function rendererMainThreadCpuMs(root = process.pid): number {
  if (!existsSync('/proc/self/stat')) return Number.NaN;
  const pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  const parents = new Map(pids.map((pid) => [pid, parentOf(pid)]));
  const under = (pid: string): boolean => {
    for (let p: string | undefined = pid, hops = 0; p !== undefined && hops < 10; p = parents.get(p), hops++) {
      if (p === String(root)) return true;
    }
    return false;
  };
  let total = 0;
  for (const pid of pids) {
    if (!under(pid)) continue;
    try {
      // A renderer forked from the zygote may keep the zygote's command line.
      if (!/--type=(renderer|zygote)/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))) continue;
      total += ticks(`/proc/${pid}/task/${pid}/stat`);
    } catch {
      // The process ended meanwhile.
    }
  }
  return total * 10; // USER_HZ is 100 on Linux
}
