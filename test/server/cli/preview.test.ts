// `crowdcrawl preview` as a user runs it: a real process against a real HTTP
// server on 127.0.0.1, in Node and in headless Chromium.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';

const MAIN = new URL('../../../server/cli/main.ts', import.meta.url).pathname;

const PAGE = `<!DOCTYPE html><html><head><title>Shop</title></head><body>
<div class=product><h2>Caf\u00e9 mug</h2><span class=price>\u20ac 12.50</span><a href="/p/1">details</a></div>
<div class=product><h2>Teapot</h2><span class=price>\u20ac 30.00</span><a href="/p/2?b=1&a=2">details</a></div>
<a href="/p/2?a=2&b=1">same product</a><a href="http://elsewhere.example/">off site</a>
</body></html>`;

const SPEC = {
  name: 'shop',
  startUrls: ['http://shop.example/'],
  items: [
    {
      type: 'product',
      selector: 'div.product',
      fields: { name: 'h2::text', price: { selector: '.price::text', process: [{ regex: '[\\d.]+' }] } },
    },
  ],
  follow: [{ allow: ['**/p/*'] }],
};

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function preview(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, 'preview', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let server: Server;
let base = '';
let dir = '';
let specPath = '';

before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/old') {
      res.writeHead(301, { location: '/shop' }).end();
    } else if (req.url === '/shop') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = mkdtempSync(join(tmpdir(), 'crowdcrawl-preview-'));
  specPath = join(dir, 'spec.json');
  writeFileSync(specPath, JSON.stringify(SPEC));
});

after(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const EXPECTED_ITEMS = [
  { type: 'product', data: { name: 'Caf\u00e9 mug', price: '12.50' } },
  { type: 'product', data: { name: 'Teapot', price: '30.00' } },
];

describe('crowdcrawl preview', () => {
  it('fetches a URL, follows its redirect and prints the items and links as JSON', async () => {
    const run = await preview([specPath, `${base}/old`]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepStrictEqual(JSON.parse(run.stdout), {
      url: `${base}/shop`,
      items: EXPECTED_ITEMS,
      links: [`${base}/p/1`, `${base}/p/2?b=1&a=2`],
    });
  });

  it('gives the same output when extracting in headless Chromium with --browser', async () => {
    const [node, browser] = [await preview([specPath, `${base}/shop`]), await preview([specPath, `${base}/shop`, '--browser'])];
    assert.equal(browser.code, 0, browser.stderr);
    assert.deepStrictEqual(JSON.parse(browser.stdout), JSON.parse(node.stdout));
  });

  it('reads a file, resolving its links against --url or else the spec\'s first start URL', async () => {
    const file = join(dir, 'page.html');
    writeFileSync(file, PAGE);
    const withUrl = await preview([specPath, file, '--url', 'http://shop.example/list']);
    assert.equal(withUrl.code, 0, withUrl.stderr);
    assert.deepStrictEqual(JSON.parse(withUrl.stdout).links, ['http://shop.example/p/1', 'http://shop.example/p/2?b=1&a=2']);
    const withoutUrl = await preview([specPath, file]);
    assert.equal(JSON.parse(withoutUrl.stdout).url, 'http://shop.example/');
    assert.deepStrictEqual(JSON.parse(withoutUrl.stdout).items, EXPECTED_ITEMS);
  });

  it('exits 2 and lists every problem of a bad spec', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ name: 'bad name!', startUrls: [], items: [{ selector: 'a::text', fields: { x: 'p::bogus' } }] }));
    const run = await preview([bad, `${base}/shop`]);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /\$\.name: /);
    assert.match(run.stderr, /\$\.startUrls: at least one start URL/);
    assert.match(run.stderr, /\$\.items\[0\]\.selector: an item selector selects elements/);
    assert.match(run.stderr, /\$\.items\[0\]\.fields\.x: unknown pseudo-element "::bogus"/);
  });

  it('exits 1 with a clear message when the page is unreachable or answers an error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = await preview([specPath, `http://127.0.0.1:${port}/`]);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, new RegExp(`cannot fetch http://127\\.0\\.0\\.1:${port}/: .*ECONNREFUSED.*\\(PAGE_UNREACHABLE\\)`));
    const missing = await preview([specPath, `${base}/missing`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /answered 404 Not Found \(HTTP_STATUS\)/);
    const noFile = await preview([specPath, join(dir, 'no-such-page.html')]);
    assert.equal(noFile.code, 1);
    assert.match(noFile.stderr, /no such file \(FILE_UNREADABLE\)/);
  });
});
