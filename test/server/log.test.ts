import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, hubLogger, isLogger, lineLogger, logLevelFrom, silentLogger } from '../../server/log.ts';
import { hubOptionsSchema } from '../../server/options.ts';

/** A destination that keeps what is written. */
function sink(isTTY = false): Writable & { isTTY: boolean; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return Object.assign(stream, { isTTY, text: () => chunks.join('') });
}

test('off a terminal the log is JSON lines, at the level asked for', () => {
  const out = sink();
  const log = createLogger({ level: 'warn', name: 'hub', destination: out });
  log.info('not shown');
  log.warn({ origin: 'https://a.example' }, 'robots.txt unreachable');
  log.child({ component: 'sitemaps' }).error({ err: new Error('boom') }, 'sitemap failed');
  const lines = out.text().trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal(lines.length, 2);
  assert.deepEqual({ level: lines[0]!.level, name: lines[0]!.name, msg: lines[0]!.msg, origin: lines[0]!.origin }, { level: 40, name: 'hub', msg: 'robots.txt unreachable', origin: 'https://a.example' });
  assert.equal(lines[1]!.component, 'sitemaps');
  assert.match(String((lines[1]!.err as { stack: string }).stack), /Error: boom/);
});

test('on a terminal the lines are readable, not JSON', () => {
  const out = sink(true);
  createLogger({ destination: out }).info({ tabs: 2 }, 'hello');
  assert.match(out.text(), /INFO.*hello/);
  assert.match(out.text(), /tabs.*2/);
  assert.throws(() => JSON.parse(out.text()));
});

test('pretty can be forced either way', () => {
  const out = sink(true);
  createLogger({ destination: out, pretty: false }).info('plain');
  assert.equal((JSON.parse(out.text()) as { msg: string }).msg, 'plain');
});

test('silent drops everything', () => {
  const out = sink();
  const log = createLogger({ level: 'silent', destination: out });
  log.error('nothing');
  assert.equal(out.text(), '');
  assert.doesNotThrow(() => silentLogger.child({ a: 1 }).error({ err: new Error('x') }, 'y'));
});

test('--log-level wins over CROWDCRAWL_LOG_LEVEL, which wins over info', () => {
  assert.equal(logLevelFrom('debug', 'error'), 'debug');
  assert.equal(logLevelFrom(undefined, 'error'), 'error');
  assert.equal(logLevelFrom(undefined, undefined), 'info');
  assert.equal(logLevelFrom(undefined, ''), 'info');
  assert.throws(() => logLevelFrom('loud', undefined), /--log-level must be one of trace, debug, info, warn, error, silent/);
  assert.throws(() => logLevelFrom(undefined, 'loud'), /CROWDCRAWL_LOG_LEVEL must be one of/);
});

test('a (line) => void log is still accepted by the hub options, as a Logger', () => {
  const lines: string[] = [];
  const log = hubOptionsSchema.parse({ log: (line: string) => lines.push(line) }).log!;
  assert.ok(isLogger(log));
  log('the old way');
  log.info('info');
  log.debug('dropped: the old log had no debug lines');
  log.warn('careful');
  log.child({ component: 'robots' }).error({ err: new Error('boom'), origin: 'x' }, 'failed');
  assert.deepEqual(lines.slice(0, 3), ['the old way', 'info', 'warning: careful']);
  assert.match(lines[3]!, /^error: robots: failed: Error: boom\n/);
  assert.equal(lines.length, 4);
});

test('a Logger given to the hub options is used as it is, and can be called the old way', () => {
  const out = sink();
  const log = hubOptionsSchema.parse({ log: createLogger({ destination: out }) }).log!;
  log('called as a function');
  log.warn('a warning');
  const levels = out.text().trim().split('\n').map((line) => (JSON.parse(line) as { level: number; msg: string }).level);
  assert.deepEqual(levels, [30, 40]);
  assert.throws(() => hubOptionsSchema.parse({ log: 'stderr' }), /a Logger or a \(line\) => void function/);
});

test('wrapping a HubLogger again keeps its levels', () => {
  const lines: string[] = [];
  hubLogger(hubLogger((line) => lines.push(line))).warn('careful');
  assert.deepEqual(lines, ['warning: careful']);
});

test('lineLogger turns a Logger into lines for commands that print their own', () => {
  const lines: string[] = [];
  const log = lineLogger((line) => lines.push(`demo: ${line}`));
  log.warn({ tab: 1 }, 'tab 1 crashed; reopening it');
  assert.deepEqual(lines, ['demo: warning: tab 1 crashed; reopening it']);
});
