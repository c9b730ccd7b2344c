// What a plain hub loads at start-up (docs/performance.md, "Memory"): a SQLite
// hub does not load the PostgreSQL backend nor the pg client, which it never
// runs (a hub with a database URL loads them when it starts: every test on the
// PostgreSQL backend starts one so), nor Node's own fetch (its bundled undici,
// which importing node:http as an ES module loads). Runs in a child process,
// whose module loads a resolve hook records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const app = new URL('../../../server/app.ts', import.meta.url).href;

/** The module URLs a child process resolves while it starts a SQLite hub and stops it, and the builtins it loaded ("builtin:..."). */
function modulesOfASqliteHub(): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'crowdcrawl-lazy-'));
  try {
    const script = `
      import module from 'node:module';
      const urls = new Set();
      module.registerHooks({ resolve(specifier, context, next) { const resolved = next(specifier, context); urls.add(resolved.url); return resolved; } });
      const { startHub } = await import(${JSON.stringify(app)});
      const hub = await startHub({ port: 0, dataDir: ${JSON.stringify(dir)}, log: () => {} });
      await hub.close();
      // Node's own builtins loaded so far (process.moduleLoadList: internal, but the only record of them).
      for (const name of process.moduleLoadList) urls.add('builtin:' + name);
      console.log(JSON.stringify([...urls]));`;
    const child = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as string[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a SQLite hub starts without loading the PostgreSQL backend or the pg client', () => {
  const urls = modulesOfASqliteHub();
  assert.ok(urls.some((url) => url.endsWith('/server/storage/sqlite/sqlite-storage.ts')), 'the hook saw the hub start');
  assert.deepEqual(urls.filter((url) => /\/node_modules\/pg[-/]|\/server\/storage\/postgres\/(postgres-storage|pg-bus)\.ts$/.test(url)), []);
});

test("a hub starts without loading Node's own fetch (node:http is required, not imported)", () => {
  const urls = modulesOfASqliteHub();
  assert.ok(urls.some((url) => url.startsWith('builtin:') && url.includes('http')), 'the builtins were listed');
  assert.deepEqual(urls.filter((url) => url.includes('internal/deps/undici')), []);
});
