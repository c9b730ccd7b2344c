// A hub in its own process for the benchmarks; prints `READY <url>`.
// Usage: node bench/hub-process.ts DATA_DIR [OPTIONS_JSON] (more hub options, e.g. validation settings)
import { enableCompileCache } from '../server/runtime/compile-cache.ts';
import { sizeHeapForLongRun } from '../server/runtime/heap-sizing.ts';
import { reexecWithSettings } from '../server/runtime/reexec.ts';

// As `crowdcrawl hub` does (server/cli/main.ts): modules compiled once, reused by the next start.
enableCompileCache();
// As `crowdcrawl hub` does: replaces itself once with MALLOC_ARENA_MAX and
// --max-semi-space-size (server/runtime/reexec.ts; CROWDCRAWL_NO_REEXEC=1 skips it).
reexecWithSettings();
// As `crowdcrawl hub` does (BENCH_HUB_NODE_ARGS="--max-semi-space-size=N" overrides it).
sizeHeapForLongRun();
// Loaded after: its modules' loading is the heap's first burst (and they come from the compile cache).
const { startHub } = await import('../server/app.ts');
const { ADMIN_TOKEN } = await import('./lib.ts');
// BENCH_HUB_OPTIONS: hub options for every bench's hub (e.g. '{"relay":{"pushBodies":false}}' for a same-session before/after).
const extra = { ...(process.env.BENCH_HUB_OPTIONS ? (JSON.parse(process.env.BENCH_HUB_OPTIONS) as Record<string, unknown>) : {}), ...(process.argv[3] ? (JSON.parse(process.argv[3]) as Record<string, unknown>) : {}) };
const hub = await startHub({ port: 0, dataDir: process.argv[2]!, allowHosts: ['127.0.0.1'], adminToken: ADMIN_TOKEN, log: () => {}, ...extra });
console.log(`READY ${hub.url}`);
process.on('SIGTERM', () => void hub.close().then(() => process.exit(0)));
