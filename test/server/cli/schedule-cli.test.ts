// `crowdcrawl schedule` against a real hub, run in this process (its output captured).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../../server/cli/main.ts';
import { ADMIN_TOKEN, api, startAdminTestHub, testSpec, type TestHub } from '../transport/admin/helpers.ts';

let hub: TestHub;
before(async () => {
  hub = await startAdminTestHub();
});
after(() => hub.cleanup());

/** Runs the command with --hub and --token; answers its exit code and what it printed. */
async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  try {
    const code = await main(['schedule', ...args, '--hub', hub.url, '--token', ADMIN_TOKEN]);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

test('crowdcrawl schedule adds, lists, pauses, resumes and deletes a schedule; bad input is exit code 2 with the problem', async () => {
  const spec = (await api(hub, 'POST', '/specs', { body: { name: 'cli books', spec: testSpec() } })).body;
  const added = await run('add', spec.id, '--cron', '15 2 * * 1', '--tz', 'Asia/Tokyo', '--overlap', 'queue', '--keep', '4', '--json');
  assert.equal(added.code, 0, added.err);
  const s = JSON.parse(added.out);
  assert.deepEqual([s.cron, s.timeZone, s.overlap, s.keepRuns, s.name], ['15 2 * * 1', 'Asia/Tokyo', 'queue', 4, 'cli books']);
  const listed = await run('list');
  assert.match(listed.out, new RegExp(`${s.id}\\s+cli books\\s+15 2 \\* \\* 1 \\(Asia/Tokyo\\)`));
  assert.match((await run('pause', s.id)).out, /paused/);
  assert.doesNotMatch((await run('resume', s.id)).out, /paused/);
  const bad = await run('add', spec.id, '--cron', 'every night', '--tz', 'UTC');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /SCHEDULE_INVALID/);
  assert.match(bad.err, /cron: "every night" is not five cron fields/);
  assert.equal((await run('add', spec.id, '--cron', '0 3 * * *')).code, 2, 'the time zone is required');
  assert.equal((await run('delete', s.id)).code, 0);
  const gone = await run('pause', s.id);
  assert.equal(gone.code, 2);
  assert.match(gone.err, /SCHEDULE_UNKNOWN/);
});
