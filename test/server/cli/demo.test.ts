import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { tempDir } from '../../helpers/hub.ts';

const MAIN = new URL('../../../server/cli/main.ts', import.meta.url).pathname;

test('crowdcrawl demo runs the whole loop to the end and exports every quote and author once', async () => {
  const dir = tempDir('crowdcrawl-demo-test-');
  try {
    const out = join(dir.path, 'results.jsonl');
    const child = spawn(
      process.execPath,
      [MAIN, 'demo', '--pages', '20', '--pace-ms', '0', '--port', '0', '--data-dir', join(dir.path, 'data'), '--out', out],
      { env: { ...process.env, HOME: dir.path, NODE_NO_WARNINGS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, output);

    assert.match(output, /contributor page {2}http:\/\/127\.0\.0\.1:\d+\//, 'the page to watch is printed first');
    assert.ok(output.includes(`results: ${out}`), output);
    assert.match(output, /contributors: 2\n\s+demo-\w+/, 'two contributors: the tabs and the Node worker');

    const site = quotesSite({ pages: 20 });
    const records = readFileSync(out, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { url: string; type: string; data: Record<string, unknown> });
    const quotes = records.filter((r) => r.type === 'quote');
    const authors = records.filter((r) => r.type === 'author');
    assert.equal(records.length, quotes.length + authors.length, 'only quotes and authors');
    assert.deepEqual(
      quotes.map((q) => q.data.text).sort(),
      site.quotes.map((q) => q.text).sort(),
      'every quote once',
    );
    const sample = quotes.find((q) => q.data.text === site.quotes[0]!.text)!;
    assert.deepEqual(sample.data, { text: site.quotes[0]!.text, author: site.quotes[0]!.author, tags: site.quotes[0]!.tags });
    assert.deepEqual(
      authors.map((a) => a.data.name).sort(),
      site.authors.map((a) => a.name).sort(),
      'every author once',
    );
    assert.match(output, new RegExp(`${site.quotes.length + site.authors.length} items \\(${site.quotes.length} quotes, ${site.authors.length} authors\\)`));
  } finally {
    dir.remove();
  }
});
