// The long-running processes' heap sizing (server/runtime/heap-sizing.ts): it
// changes V8 flags for the whole process, so each case runs in a child process
// that allocates like a crawl (garbage, with some of it surviving scavenges)
// and reports its new space's size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { flagSetByOperator } from '../../../server/runtime/heap-sizing.ts';

const module = new URL('../../../server/runtime/heap-sizing.ts', import.meta.url).href;

/** Runs an allocation loop in a child node; returns its new space's size in MB at the end. */
function newSpaceAfterChurn(options: { sized: boolean; nodeArgs?: string[] }): number {
  const script = `
    import v8 from 'node:v8';
    import { sizeHeapForLongRun } from ${JSON.stringify(module)};
    if (${options.sized}) sizeHeapForLongRun({ semiSpaceMb: 2, heapGrowingPercent: 50 });
    let kept = [];
    for (let round = 0; round < 400; round++) {
      for (let i = 0; i < 10_000; i++) {
        const page = { i, text: 'x' + i };
        if (i % 10 === 0) kept.push(page);
        if (kept.length > 50_000) kept = [];
      }
      // Between rounds the event loop turns, as between a crawl's pages.
      await new Promise((resolve) => setImmediate(resolve));
    }
    const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    console.log(space.space_size / 1048576);`;
  const child = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', ...(options.nodeArgs ?? []), '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  return Number(child.stdout.trim());
}

test('the new space stops growing at the cap (two semi-spaces of 2 MB), where V8 alone grows it far past', () => {
  const alone = newSpaceAfterChurn({ sized: false });
  const sized = newSpaceAfterChurn({ sized: true });
  assert.ok(alone > 8, `V8 alone: ${alone} MB`);
  assert.ok(sized <= 4, `sized: ${sized} MB`);
});

test("an operator's --max-semi-space-size wins over the cap", () => {
  assert.equal(newSpaceAfterChurn({ sized: true, nodeArgs: ['--max-semi-space-size=8'] }), 16);
});

test('flags are recognised on the command line and in NODE_OPTIONS, in either spelling', () => {
  assert.equal(flagSetByOperator('max-semi-space-size', ['--max-semi-space-size=16'], ''), true);
  assert.equal(flagSetByOperator('max-semi-space-size', [], '--inspect --max_semi_space_size=4'), true);
  assert.equal(flagSetByOperator('heap-growing-percent', ['--max-semi-space-size=16'], '--heap-growing-percent'), true);
  assert.equal(flagSetByOperator('max-semi-space-size', ['--max-old-space-size=100'], ''), false);
  assert.equal(flagSetByOperator('max-semi-space-size', ['--max-semi-space-sizes=1'], ''), false);
});
