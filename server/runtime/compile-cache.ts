// Node's module compile cache for the CLI: on a second start, each module's
// TypeScript-stripped source and V8 code come from the cache (in the OS's temp
// directory, or $NODE_COMPILE_CACHE), so Node does not load its type stripper
// (a WebAssembly module, per thread) nor compile every module again. That was
// 25 MB of an idle Node worker's 127 MB RSS (docs/performance.md, "Memory"),
// and start-up time. NODE_DISABLE_COMPILE_CACHE=1 turns it off, as for Node.
import module from 'node:module';

export function enableCompileCache(): void {
  const result = module.enableCompileCache();
  // Threads (the hub's extraction thread) and child processes use it too.
  if (result.directory && process.env.NODE_COMPILE_CACHE === undefined) process.env.NODE_COMPILE_CACHE = result.directory;
}
