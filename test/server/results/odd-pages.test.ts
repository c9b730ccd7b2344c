import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startFixtureServer, type FixturePage, type FixtureServer } from '../../fixtures/site/server.ts';
import { startTestHub, startWorkers, waitForCrawlEnd } from '../../helpers/hub.ts';

const html = (body: string, head = '') => `<!DOCTYPE html><html><head>${head}<title>t</title></head><body>${body}</body></html>`;
const duplicate = html('<p>the same page under two URLs</p>');

// Pages in the encodings and shapes real sites serve.
const pages = new Map<string, FixturePage>([
  ['/index', { body: html(['latin1', 'sjis', 'utf16', 'bom-beats-header', 'empty', 'no-links', 'loop-a', 'dup-1', 'dup-2', 'to-dup-1'].map((p) => `<a href="/${p}">${p}</a>`).join(' ')) }],
  // windows-1252 from the Content-Type header: 0x80 is the euro sign there, not a C1 control.
  ['/latin1', { body: Buffer.from(html('<p>caf\xe9 \x80 5</p>'), 'latin1'), headers: { 'content-type': 'text/html; charset=windows-1252' } }],
  // Shift_JIS from <meta charset> only: 0x93FA 0x967B is 日本.
  ['/sjis', {
    body: Buffer.concat([Buffer.from(html('<p>', '<meta charset="shift_jis">')), Buffer.from([0x93, 0xfa, 0x96, 0x7b]), Buffer.from('</p></body></html>')]),
    headers: { 'content-type': 'text/html' },
  }],
  // UTF-16LE announced by its byte order mark only.
  ['/utf16', { body: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(html('<p>ünïcödé</p>'), 'utf16le')]), headers: { 'content-type': 'text/html' } }],
  // A UTF-8 BOM beats a wrong charset in the header.
  ['/bom-beats-header', { body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(html('<p>naïve</p>'))]), headers: { 'content-type': 'text/html; charset=iso-8859-1' } }],
  ['/empty', { body: '', headers: { 'content-type': 'text/html' } }],
  ['/no-links', { body: html('<p>nothing to follow here</p>') }],
  ['/loop-a', { status: 302, body: '', headers: { location: '/loop-b' } }],
  ['/loop-b', { status: 301, body: '', headers: { location: '/loop-a' } }],
  ['/dup-1', { body: duplicate }],
  ['/dup-2', { body: duplicate }],
  ['/to-dup-1', { status: 301, body: '', headers: { location: '/dup-1' } }],
]);

let site: FixtureServer;
before(async () => {
  site = await startFixtureServer(pages);
});
after(() => site.close());

test('odd pages end to end: charsets from header, meta and BOM; empty pages; no links; redirect loops; duplicate content', async () => {
  const hub = await startTestHub();
  const workers = await startWorkers(hub.url, 2);
  try {
    const crawl = await hub.engine.createCrawl({
      name: 'odd',
      startUrls: [site.url('/index')],
      items: [{ selector: 'p', fields: { text: '::text' } }],
      follow: [{}],
      politeness: { obeyRobotsTxt: false },
    });
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.finishReason, 'completed');
    const rows = hub.storage.db
      .prepare('SELECT url, state, final_url, content_hash, items, links, error_code, attempts FROM requests WHERE crawl_id = ?')
      .all(crawl.id) as { url: string; state: number; final_url: string | null; content_hash: string | null; items: number | null; links: number | null; error_code: string | null; attempts: number }[];
    const by = new Map(rows.map((r) => [new URL(r.url).pathname, r]));
    const texts = new Map((await Array.fromAsync(hub.storage.iterateItems(crawl.id))).map((i) => [new URL(i.url).pathname, (JSON.parse(i.data) as { text: string }).text]));

    assert.equal(texts.get('/latin1'), 'café € 5');
    assert.equal(texts.get('/sjis'), '日本');
    assert.equal(texts.get('/utf16'), 'ünïcödé');
    assert.equal(texts.get('/bom-beats-header'), 'naïve');

    const empty = by.get('/empty')!;
    assert.deepEqual([empty.state, empty.items, empty.links], [2, 0, 0], 'an empty page is recorded, with nothing in it');
    assert.equal(empty.content_hash, createHash('sha256').update('').digest('hex'));
    assert.deepEqual([by.get('/no-links')!.state, by.get('/no-links')!.links], [2, 0]);

    const loop = by.get('/loop-a')!;
    assert.deepEqual([loop.state, loop.error_code, loop.attempts], [3, 'RELAY_REDIRECT_LOOP', 1], 'a redirect loop fails at once, not retried');

    const [one, two, via] = [by.get('/dup-1')!, by.get('/dup-2')!, by.get('/to-dup-1')!];
    assert.equal(one.state, 2);
    assert.equal(two.state, 2);
    assert.equal(one.content_hash, two.content_hash, 'the same content under two URLs has the same hash');
    assert.equal(one.content_hash, createHash('sha256').update(duplicate).digest('hex'));
    assert.deepEqual([via.state, via.final_url, via.content_hash], [2, site.url('/dup-1'), one.content_hash], 'a redirect records its final URL');
    assert.equal(summary.pagesDone, 10);
    assert.equal(summary.pagesFailed, 1);
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await hub.cleanup();
  }
});
