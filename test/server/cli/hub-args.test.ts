// `crowdcrawl hub` flags: --allowed-origin (origins whose pages may connect browser workers) and --database-url.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hubOptionsFromArgs } from '../../../server/cli/hub.ts';
import { hubOptionsSchema } from '../../../server/options.ts';

test('--allowed-origin may be repeated and is kept as origins', () => {
  const parsed = hubOptionsFromArgs(['--allowed-origin', 'https://crawl.example.org/join', '--allowed-origin', 'http://localhost:5173']);
  assert.notEqual(parsed, 'help');
  const options = hubOptionsSchema.parse((parsed as Exclude<typeof parsed, 'help'>).hub);
  assert.deepEqual(options.allowedOrigins, ['https://crawl.example.org', 'http://localhost:5173']);
});

test('a bad --allowed-origin is a usage error that names the flag', () => {
  for (const bad of ['example.org', 'foo:bar', 'file:///x', 'null']) assert.throws(() => hubOptionsFromArgs(['--allowed-origin', bad]), /--allowed-origin/, bad);
});

test('--database-url (or CROWDCRAWL_DATABASE_URL) puts the hub on PostgreSQL; SQLite without it; a URL of another kind is a usage error', () => {
  const saved = process.env.CROWDCRAWL_DATABASE_URL;
  delete process.env.CROWDCRAWL_DATABASE_URL;
  try {
    const hub = (argv: string[]) => (hubOptionsFromArgs(argv) as Exclude<ReturnType<typeof hubOptionsFromArgs>, 'help'>).hub;
    assert.equal(hubOptionsSchema.parse(hub([])).databaseUrl, undefined, 'the embedded SQLite by default');
    assert.equal(hub(['--database-url', 'postgres://u:p@db:5432/crawls']).databaseUrl, 'postgres://u:p@db:5432/crawls');
    process.env.CROWDCRAWL_DATABASE_URL = 'postgresql://u@db/from-env';
    assert.equal(hub([]).databaseUrl, 'postgresql://u@db/from-env');
    assert.equal(hub(['--database-url', 'postgres://u@db/flag']).databaseUrl, 'postgres://u@db/flag', 'the flag wins');
    assert.throws(() => hubOptionsFromArgs(['--database-url', 'mysql://u@db/x']), /--database-url: a database URL looks like postgres:\/\//);
  } finally {
    if (saved === undefined) delete process.env.CROWDCRAWL_DATABASE_URL;
    else process.env.CROWDCRAWL_DATABASE_URL = saved;
  }
});
