// Loaded with `node --import ./bench/memory-probe.ts` into a benchmarked
// process (the hub, a Node worker): samples process.memoryUsage() every
// 50 ms and, on exit, writes the peaks (RSS from /proc's VmHWM, heap used,
// heap total, external, arrayBuffers, in MB) as JSON to $MEMORY_PROBE_FILE.
// Peaks are taken per figure, so they need not be from the same instant.
import { readFileSync, writeFileSync } from 'node:fs';

const file = process.env.MEMORY_PROBE_FILE;
if (file) {
  const mb = (bytes: number) => bytes / 1048576;
  const peak = { heapUsedMb: 0, heapTotalMb: 0, externalMb: 0, arrayBuffersMb: 0 };
  const sample = () => {
    const usage = process.memoryUsage();
    peak.heapUsedMb = Math.max(peak.heapUsedMb, mb(usage.heapUsed));
    peak.heapTotalMb = Math.max(peak.heapTotalMb, mb(usage.heapTotal));
    peak.externalMb = Math.max(peak.externalMb, mb(usage.external));
    peak.arrayBuffersMb = Math.max(peak.arrayBuffersMb, mb(usage.arrayBuffers));
  };
  setInterval(sample, 50).unref();
  process.on('exit', () => {
    sample();
    const hwm = Number(readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\s+(\d+) kB/m)?.[1] ?? NaN) / 1024;
    writeFileSync(file, JSON.stringify({ peakRssMb: hwm, ...peak }));
  });
}
