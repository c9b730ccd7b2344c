import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hubOptionsFromArgs } from '../../../server/cli/hub.ts';
import { ADMIN_TOKEN, api, insertItems, parseCsv, startAdminTestHub, testSpec, type TestHub } from '../transport/admin/helpers.ts';

const MAIN = new URL('../../../server/cli/main.ts', import.meta.url).pathname;

let hub: TestHub;
let dir: string;

before(async () => {
  hub = await startAdminTestHub();
  dir = mkdtempSync(join(tmpdir(), 'crowdcrawl-cli-'));
});
after(async () => {
  await hub.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** An environment without the caller's crowdcrawl settings, so no test reads a real token file or hub. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir, NODE_NO_WARNINGS: '1' };
  delete env.CROWDCRAWL_ADMIN_TOKEN;
  delete env.CROWDCRAWL_HUB;
  delete env.CROWDCRAWL_DATA_DIR;
  return { ...env, ...extra };
}

function cli(args: string[], env: Record<string, string> = {}, onStdout?: (text: string) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      cwd: dir,
      env: cleanEnv({ CROWDCRAWL_ADMIN_TOKEN: ADMIN_TOKEN, CROWDCRAWL_HUB: hub.url, ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      onStdout?.(stdout);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function specFile(name: string, spec: unknown): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, typeof spec === 'string' ? spec : JSON.stringify(spec));
  return path;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('crawl creates the crawl and prints its id on stdout, running unless --paused', async () => {
  const run = await cli(['crawl', specFile('ok', testSpec({ name: 'from-cli' }))]);
  assert.equal(run.code, 0, run.stderr);
  const id = run.stdout.trim();
  assert.match(id, /^[a-z0-9]+-[0-9a-f]{8}$/);
  assert.equal(hub.engine.crawls.require(id).name, 'from-cli');
  assert.equal(hub.engine.crawls.require(id).status, 'running');

  const paused = await cli(['crawl', specFile('paused', testSpec({ name: 'paused-cli' })), '--paused', '--hub', hub.url, '--token', ADMIN_TOKEN], { CROWDCRAWL_HUB: 'http://127.0.0.1:1' });
  assert.equal(paused.code, 0, paused.stderr);
  assert.equal(hub.engine.crawls.require(paused.stdout.trim()).status, 'created', '--hub and --token win over the environment');
});

test('crawl with an invalid spec prints each problem as "path: message" and exits 2', async () => {
  const before = hub.engine.crawls.list().length;
  const run = await cli(['crawl', specFile('bad', { name: 'bad', startUrls: ['ftp://x/'], items: [{ selector: 'div', fields: { t: 'span[' } }] })]);
  assert.equal(run.code, 2);
  assert.equal(run.stdout, '');
  assert.match(run.stderr, /^ {2}\$\.startUrls\[0\]: only http and https URLs/m);
  assert.match(run.stderr, /^ {2}\$\.items\[0\]\.fields\.t: /m);
  assert.equal(hub.engine.crawls.list().length, before);

  const notJson = await cli(['crawl', specFile('broken', '{"name": ')]);
  assert.equal(notJson.code, 2);
  assert.match(notJson.stderr, /broken\.json is not valid JSON/);

  const missing = await cli(['crawl', join(dir, 'nope.json')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read/);

  const usage = await cli(['crawl']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /usage: crowdcrawl crawl/);
});

test('crawl --wait follows the crawl and exits 0 when it finishes', async () => {
  const spec = testSpec({ name: 'short', limits: { maxDurationMs: 1000 } });
  const run = await cli(['crawl', specFile('short', spec), '--wait', '--poll-ms', '100']);
  assert.equal(run.code, 0, run.stderr);
  const id = run.stdout.trim();
  assert.equal(hub.engine.crawls.require(id).status, 'finished');
  assert.match(run.stderr, new RegExp(`crawl ${id} finished \\(maxDuration\\)`));
});

test('crawl --wait exits 1 when the crawl is cancelled', async () => {
  let cancelled = false;
  const run = await cli(['crawl', specFile('to-cancel', testSpec({ name: 'to-cancel' })), '--wait', '--poll-ms', '100'], {}, (out) => {
    const id = out.trim();
    if (!cancelled && out.endsWith('\n') && hub.engine.crawls.get(id)) {
      cancelled = true;
      hub.engine.crawls.cancel(id);
    }
  });
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /cancelled/);
});

test('status prints the fleet\'s hubs and a table of crawls, one crawl in detail, or JSON; an unknown id exits 2', async () => {
  const crawl = await hub.engine.createCrawl(testSpec({ name: 'status-me' }), { start: false });
  const table = await cli(['status']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^HUB\s+ADDRESS\s+VERSION\s+STATE\s+WORKERS\s+LEASES\s+PAGES\/S\s+HEARTBEAT/m);
  assert.match(table.stdout, new RegExp(`^${hub.fleet.id} \\(this\\)\\s+${hub.url.replace(/[.]/g, '\\.')}\\s+\\S+\\s+alive\\s+\\d+\\s+\\d+\\s+[\\d.]+\\s+\\d+s ago`, 'm'));
  assert.match(table.stdout, /^ID\s+NAME\s+STATUS\s+PAGES\s+ITEMS/m);
  assert.match(table.stdout, new RegExp(`^${crawl.id}\\s+status-me\\s+created\\s+0\\s+0`, 'm'));

  const detail = await cli(['status', crawl.id]);
  assert.equal(detail.code, 0, detail.stderr);
  assert.match(detail.stdout, new RegExp(`crawl +${crawl.id}`));
  assert.match(detail.stdout, /status +created/);

  const json = await cli(['status', crawl.id, '--json']);
  const parsed = JSON.parse(json.stdout);
  assert.equal(parsed.id, crawl.id);
  assert.equal(parsed.spec.name, 'status-me');

  const unknown = await cli(['status', 'no-such-crawl']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no crawl with id "no-such-crawl"/);
});

test('export writes the crawl\'s items to a file in the format its name or --format gives', async () => {
  const crawl = await hub.engine.createCrawl(testSpec({ name: 'exported' }), { start: false });
  await insertItems(hub, crawl.id, [
    { url: 'http://127.0.0.1:9/1', type: 'item', data: { title: 'a, "b"', price: '1' } },
    { url: 'http://127.0.0.1:9/2', type: 'item', data: { title: 'ü\nv', price: null } },
  ]);
  const csvPath = join(dir, 'out.csv');
  const csv = await cli(['export', crawl.id, '-o', csvPath]);
  assert.equal(csv.code, 0, csv.stderr);
  assert.deepEqual(parseCsv(readFileSync(csvPath, 'utf8')), [
    ['url', 'type', 'title', 'price'],
    ['http://127.0.0.1:9/1', 'item', 'a, "b"', '1'],
    ['http://127.0.0.1:9/2', 'item', 'ü\nv', ''],
  ]);
  assert.equal(existsSync(`${csvPath}.part`), false);

  const jsonlPath = join(dir, 'out.txt');
  const jsonl = await cli(['export', crawl.id, '--format', 'jsonl', '-o', jsonlPath]);
  assert.equal(jsonl.code, 0, jsonl.stderr);
  const fromHub = await api(hub, 'GET', `/crawls/${crawl.id}/export?format=jsonl`);
  assert.equal(readFileSync(jsonlPath, 'utf8'), fromHub.body);

  const stdout = await cli(['export', crawl.id, '--format', 'json']);
  assert.equal(stdout.code, 0, stdout.stderr);
  assert.deepEqual(JSON.parse(stdout.stdout).map((r: { data: unknown }) => r.data), [{ title: 'a, "b"', price: '1' }, { title: 'ü\nv', price: null }]);

  const badFormat = await cli(['export', crawl.id, '--format', 'xml']);
  assert.equal(badFormat.code, 2);
  const unknown = await cli(['export', 'no-such-crawl', '-o', join(dir, 'never.csv')]);
  assert.equal(unknown.code, 2);
  assert.equal(existsSync(join(dir, 'never.csv')), false);
});

test('export escapes CSV formulas by default, and --no-escape-formulas writes them as they are', async () => {
  const crawl = await hub.engine.createCrawl(testSpec({ name: 'formulas' }), { start: false });
  await insertItems(hub, crawl.id, [{ url: 'http://127.0.0.1:9/1', type: 'item', data: { title: '=HYPERLINK("http://evil")', price: '-1' } }]);
  const escaped = await cli(['export', crawl.id, '--format', 'csv']);
  assert.equal(escaped.code, 0, escaped.stderr);
  assert.deepEqual(parseCsv(escaped.stdout)[1], ['http://127.0.0.1:9/1', 'item', `'=HYPERLINK("http://evil")`, "'-1"]);
  const raw = await cli(['export', crawl.id, '--format', 'csv', '--no-escape-formulas']);
  assert.equal(raw.code, 0, raw.stderr);
  assert.deepEqual(parseCsv(raw.stdout)[1], ['http://127.0.0.1:9/1', 'item', '=HYPERLINK("http://evil")', '-1']);
  const json = await cli(['export', crawl.id, '--format', 'json']);
  assert.equal(JSON.parse(json.stdout)[0].data.title, '=HYPERLINK("http://evil")', 'JSON is never changed');
});

test('export --follow streams the feed until the crawl ends, says where to resume, and --after resumes there', async () => {
  const crawl = await hub.engine.createCrawl(testSpec({ name: 'followed' }), { start: false });
  await insertItems(hub, crawl.id, [
    { url: 'http://127.0.0.1:9/1', type: 'item', data: { title: 'one', price: '1' } },
    { url: 'http://127.0.0.1:9/2', type: 'item', data: { title: 'two', price: '2' } },
  ]);
  let cancelled = false;
  // The crawl ends only once the follower has its first lines: the command must have been waiting.
  const followed = await cli(['export', crawl.id, '--follow'], {}, (stdout) => {
    if (!cancelled && stdout.split('\n').length > 2) {
      cancelled = true;
      void hub.engine.control(crawl.id, 'cancel');
    }
  });
  assert.equal(followed.code, 0, followed.stderr);
  const lines = followed.stdout.trim().split('\n').map((l) => JSON.parse(l) as { cursor: number; id: number; data: { title: string } });
  assert.deepEqual(lines.map((l) => l.data.title), ['one', 'two']);
  const last = lines[1]!.cursor;
  assert.match(followed.stderr, new RegExp(`followed the crawl to its end: 2 entries; last cursor ${last} \\(later withdrawals: crowdcrawl export ${crawl.id} --follow --after ${last}\\)`));

  const resumed = await cli(['export', crawl.id, '--after', String(lines[0]!.cursor)]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(JSON.parse(resumed.stdout.trim()), lines[1]);
  const file = join(dir, 'followed.jsonl');
  writeFileSync(file, `${JSON.stringify(lines[0])}\n`);
  const appended = await cli(['export', crawl.id, '--follow', '--after', String(lines[0]!.cursor), '-o', file]);
  assert.equal(appended.code, 0, appended.stderr);
  assert.deepEqual(readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l)), lines, 'a resumed follow appends to the file');

  for (const args of [['--follow', '--format', 'csv'], ['--after', '-3'], ['--after', 'x']]) {
    const bad = await cli(['export', crawl.id, ...args]);
    assert.equal(bad.code, 2, args.join(' '));
  }
});

test('an unreachable hub, a refused token or no token at all end with a clear message', async () => {
  const port = await closedPort();
  for (const args of [['status'], ['export', 'x'], ['crawl', specFile('unreachable', testSpec())]]) {
    const run = await cli(args, { CROWDCRAWL_HUB: `http://127.0.0.1:${port}` });
    assert.equal(run.code, 1, `${args[0]}: ${run.stderr}`);
    assert.match(run.stderr, new RegExp(`cannot reach the hub at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));
  }
  const wrong = await cli(['status'], { CROWDCRAWL_ADMIN_TOKEN: 'w'.repeat(32) });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /refused the admin token from CROWDCRAWL_ADMIN_TOKEN/);

  const none = await cli(['status'], { CROWDCRAWL_ADMIN_TOKEN: '' });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no admin token/);

  const badHub = await cli(['status', '--hub', 'not a url']);
  assert.equal(badHub.code, 2);
});

test('a hub on this machine is found with the token its data dir keeps', async () => {
  const dataDir = join(dir, 'token-dir');
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir);
  writeFileSync(join(dataDir, 'admin-token'), `${ADMIN_TOKEN}\n`);
  const run = await cli(['status'], { CROWDCRAWL_ADMIN_TOKEN: '', CROWDCRAWL_DATA_DIR: dataDir });
  assert.equal(run.code, 0, run.stderr);
});

/** Starts `crowdcrawl hub`, waits until it has printed its URLs, and returns what it printed. */
function startHubCommand(dataDir: string): Promise<{ child: ReturnType<typeof spawn>; stdout: () => string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [MAIN, 'hub', '--port', '0', '--data-dir', dataDir], { cwd: dir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      // The hub prints its URLs and token line in one write.
      if (/admin token[^\n]*\n/.test(out)) resolve({ child, stdout: () => out, exited });
    });
    void exited.then((code) => reject(new Error(`hub exited with ${code}: ${err}`)));
  });
}

test('hub starts on --port 0, prints its URLs and a new admin token only once, and exits 0 on SIGINT', async () => {
  const dataDir = join(dir, 'hub-data');
  const first = await startHubCommand(dataDir);
  const out = first.stdout();
  const apiUrl = /admin API\s+(http:\/\/127\.0\.0\.1:\d+)\/api/.exec(out)?.[1];
  assert.ok(apiUrl, out);
  assert.match(out, new RegExp(`contributor page\\s+${apiUrl}/\\n`));
  assert.match(out, new RegExp(`admin console\\s+${apiUrl}/admin\\n`));
  const token = /admin token\s+(\S+)\n\s+\(new: shown only this once/.exec(out)?.[1];
  assert.ok(token, out);
  assert.equal(readFileSync(join(dataDir, 'admin-token'), 'utf8').trim(), token);
  const stats = await fetch(`${apiUrl}/api/stats`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(stats.status, 200);
  first.child.kill('SIGINT');
  assert.equal(await first.exited, 0);

  const second = await startHubCommand(dataDir);
  const again = second.stdout();
  assert.equal(again.includes(token), false, 'the token is not printed again');
  assert.match(again, new RegExp(`admin token\\s+in ${join(dataDir, 'admin-token').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  second.child.kill('SIGTERM');
  assert.equal(await second.exited, 0);
});

test('hub refuses a bad command line with exit 2', async () => {
  const run = await cli(['hub', '--port', 'eighty']);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /--port must be a whole number/);
  const ttl = await cli(['hub', '--lease-ttl-ms', '5']);
  assert.equal(ttl.code, 2);
  assert.match(ttl.stderr, /--lease-ttl-ms: /);
  // A settings file: checked by the same schema, each problem with its path.
  const dir = mkdtempSync(join(tmpdir(), 'crowdcrawl-config-'));
  try {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ validation: { strikesToBan: 0 } }));
    const refused = await cli(['hub', '--config', bad]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /bad\.json: validation\.strikesToBan: /);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{ "validation": ');
    assert.equal((await cli(['hub', '--config', broken])).code, 2);
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ port: 1, validation: { probationResults: 3, minCheckRate: 0.1 } }));
    const parsed = hubOptionsFromArgs(['--config', good, '--port', '0']);
    assert.ok(parsed !== 'help');
    assert.deepEqual([parsed.hub.port, parsed.hub.validation], [0, { probationResults: 3, minCheckRate: 0.1 }], 'the flags win over the file');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('crawl update pushes a new spec version and prints it; a stale version or an invalid spec is refused', async () => {
  const crawl = await hub.engine.createCrawl(testSpec({ name: 'update-me' }), { start: false });
  const run = await cli(['crawl', 'update', crawl.id, specFile('v2', testSpec({ name: 'update-me' }))]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout.trim(), '2');
  assert.match(run.stderr, /now runs spec version 2; 0 queued URL\(s\)/);
  assert.equal(hub.engine.crawls.require(crawl.id).specVersion, 2);
  const stale = await cli(['crawl', 'update', crawl.id, specFile('stale', testSpec({ name: 'update-me', version: 2 }))]);
  assert.equal(stale.code, 1);
  assert.match(stale.stderr, /SPEC_VERSION_STALE/);
  const bad = await cli(['crawl', 'update', crawl.id, specFile('bad-update', { name: 'x', startUrls: [] })]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /startUrls/);
  assert.equal(hub.engine.crawls.require(crawl.id).specVersion, 2, 'nothing changed');
});
