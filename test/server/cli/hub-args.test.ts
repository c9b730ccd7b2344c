// `crowdcrawl hub --allowed-origin`: origins whose pages may connect browser workers.
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
