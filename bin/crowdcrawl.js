#!/usr/bin/env node
// The `crowdcrawl` command. crowdcrawl runs on Node.js 24, which the project pins
// through the `node` devDependency. When this shim is started by an older Node
// (say, the system's), it hands over to the pinned one; either way the real
// entry point is server/cli/main.ts, which Node 24 runs directly.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../server/cli/main.ts', import.meta.url));
const major = Number(process.versions.node.split('.')[0]);

if (major >= 24) {
  // Node's module compile cache, before the first TypeScript module loads: from
  // the second start on, modules come type-stripped and compiled from it, and
  // Node never loads its type stripper (a WebAssembly module): about 20 MB of
  // an idle worker's RSS (docs/performance.md, "Memory"). Threads and child
  // processes inherit it through the environment. NODE_DISABLE_COMPILE_CACHE=1
  // turns it off.
  const cache = module.enableCompileCache();
  if (cache.directory && process.env.NODE_COMPILE_CACHE === undefined) process.env.NODE_COMPILE_CACHE = cache.directory;
  const { main: run } = await import(main);
  process.exitCode = await run(process.argv.slice(2)).catch((error) => {
    console.error(`crowdcrawl: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  });
} else {
  const pinned = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(pinned)) {
    console.error(`crowdcrawl needs Node.js 24 or newer (this is ${process.version}); run "npm install" in ${fileURLToPath(new URL('..', import.meta.url))} to get it.`);
    process.exit(1);
  }
  const child = spawn(pinned, ['--disable-warning=ExperimentalWarning', main, ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    if (signal) {
      // Die of the same signal, as a shell expects; our forwarding handler must not catch it.
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
}
