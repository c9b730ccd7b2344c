// The long-running processes' re-exec (server/runtime/reexec.ts): a process
// replaces itself once with MALLOC_ARENA_MAX and real V8 flags, keeping its pid,
// arguments, stdio, exit code and signals. Each case runs a child process
// (test/server/runtime/reexec-child.ts) that re-executes as `crowdcrawl hub` does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { planReexec, REEXEC_MARK, REEXEC_OPT_OUT } from '../../../server/runtime/reexec.ts';

const CHILD = new URL('./reexec-child.ts', import.meta.url).pathname;
const NODE_ARGS = ['--disable-warning=ExperimentalWarning'];

/** The environment without anything this test is about (the runner's own may carry them). */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  for (const name of ['MALLOC_ARENA_MAX', REEXEC_MARK, REEXEC_OPT_OUT, 'NODE_OPTIONS']) if (!(name in extra)) delete env[name];
  return env;
}

interface Run {
  starts: string[];
  run: { pid: number; arena: string | null; mark: string | null; execArgv: string[]; args: string[] };
}

function parse(stdout: string): Run {
  const starts = stdout.split('\n').filter((line) => line.startsWith('START '));
  const line = stdout.split('\n').find((l) => l.startsWith('RUN '));
  assert.ok(line, `no RUN line in ${JSON.stringify(stdout)}`);
  return { starts, run: JSON.parse(line.slice(4)) as Run['run'] };
}

test('the process re-executes once, same pid and arguments, with the variable and the flag; its exit code is the caller\'s', () => {
  const child = spawnSync(process.execPath, [...NODE_ARGS, CHILD, 'exit', '7', 'a b'], { encoding: 'utf8', env: cleanEnv() });
  assert.equal(child.status, 7, child.stderr);
  const { starts, run } = parse(child.stdout);
  // Printed before and after the exec, by one process: no loop, no child.
  assert.equal(starts.length, 2, child.stdout);
  assert.equal(starts[0], `START ${child.pid}`);
  assert.equal(starts[1], `START ${child.pid}`);
  assert.equal(run.pid, child.pid);
  assert.equal(run.arena, '2');
  assert.equal(run.mark, null, 'the mark is removed, so the processes it starts re-exec themselves');
  assert.deepEqual(run.execArgv, [...NODE_ARGS, '--max-semi-space-size=3']);
  assert.deepEqual(run.args, ['exit', '7', 'a b']);
});

test('a signal reaches the re-executed process, which handles it as its own', async () => {
  const child = spawn(process.execPath, [...NODE_ARGS, CHILD, 'wait', '5'], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  await new Promise<void>((resolve) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('RUN ')) resolve();
    });
  });
  assert.equal(parse(out).run.arena, '2');
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  assert.equal(code, 5);
  assert.match(out, /GOT SIGTERM/);
});

test('CROWDCRAWL_NO_REEXEC=1 keeps the process as started', () => {
  const child = spawnSync(process.execPath, [...NODE_ARGS, CHILD, 'exit', '0'], { encoding: 'utf8', env: cleanEnv({ [REEXEC_OPT_OUT]: '1' }) });
  assert.equal(child.status, 0, child.stderr);
  const { starts, run } = parse(child.stdout);
  assert.equal(starts.length, 1);
  assert.equal(run.arena, null);
  assert.deepEqual(run.execArgv, NODE_ARGS);
});

test("what the operator set wins, and nothing left to change means no re-exec", () => {
  const child = spawnSync(process.execPath, [...NODE_ARGS, '--max-semi-space-size=1', CHILD, 'exit', '0'], { encoding: 'utf8', env: cleanEnv({ MALLOC_ARENA_MAX: '4' }) });
  assert.equal(child.status, 0, child.stderr);
  const { starts, run } = parse(child.stdout);
  assert.equal(starts.length, 1);
  assert.equal(run.arena, '4');
  assert.deepEqual(run.execArgv, [...NODE_ARGS, '--max-semi-space-size=1']);
});

test('the plan: an already re-executed process (the mark) never plans another; NODE_OPTIONS counts as the operator\'s', () => {
  const proc = { env: {}, execArgv: ['--inspect'], argv: ['node', '/x/main.ts', 'hub', '--port', '0'], execPath: '/usr/bin/node', platform: 'linux' as const };
  const settings = { env: { MALLOC_ARENA_MAX: '2' }, nodeFlags: { 'max-semi-space-size': '8' } };
  const plan = planReexec(settings, proc);
  assert.deepEqual(plan?.args, ['/usr/bin/node', '--inspect', '--max-semi-space-size=8', '/x/main.ts', 'hub', '--port', '0']);
  assert.equal(plan?.env.MALLOC_ARENA_MAX, '2');
  assert.equal(plan?.env[REEXEC_MARK], '1');
  assert.equal(planReexec(settings, { ...proc, env: { [REEXEC_MARK]: '1' } }), undefined);
  assert.deepEqual(planReexec(settings, { ...proc, env: { NODE_OPTIONS: '--max-semi-space-size=2' } })?.args, ['/usr/bin/node', '--inspect', '/x/main.ts', 'hub', '--port', '0']);
  assert.equal(planReexec(settings, { ...proc, platform: 'win32' }), undefined);
});
