import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { ADMIN_TOKEN, api, insertItems, parseCsv, startAdminTestHub, testSpec, type TestHub, type TestItem } from '../transport/admin/helpers.ts';

let hub: TestHub;

before(async () => {
  hub = await startAdminTestHub();
});
after(async () => {
  await hub.cleanup();
});

const EXTRACTED_AT = Date.UTC(2025, 0, 2, 3, 4, 5);

/** Two item types; `author` has a field named like the url column. */
const twoTypesSpec = testSpec({
  name: 'library',
  items: [
    { type: 'book', selector: 'article', fields: { title: 'h3::text', price: '.price::text', tags: { selector: '.tag::text', all: true } } },
    { type: 'author', selector: '.author', fields: { name: '.name::text', url: 'a::attr(href)' } },
  ],
});

const tricky: TestItem[] = [
  { url: 'http://127.0.0.1:9/b/1', type: 'book', data: { title: 'Commas, "quotes" and\nnewlines\r\nand CRLF', price: '£51.77', tags: ['poetry', 'a,b', 'say "hi"'] } },
  { url: 'http://127.0.0.1:9/b/2', type: 'book', data: { title: 'Ünïcödé: 日本語の本 🚀', price: null, tags: [] } },
  { url: 'http://127.0.0.1:9/b/3?q=a,b', type: 'book', data: { title: '=HYPERLINK("http://evil")', price: '', tags: ['x'] } },
  { url: 'http://127.0.0.1:9/a/1', type: 'author', data: { name: 'Ann O\'Nymous', url: 'http://127.0.0.1:9/a/1/about' } },
];

function expectedRecords(items: TestItem[]) {
  return items.map((item) => ({ url: item.url, type: item.type, data: item.data, specVersion: 1, extractedAt: new Date(EXTRACTED_AT).toISOString() }));
}

test('the JSON Lines export holds one record per stored item, in storage order', async () => {
  const crawl = await hub.engine.createCrawl(twoTypesSpec, { start: false });
  await insertItems(hub, crawl.id, tricky, EXTRACTED_AT);
  const res = await api(hub, 'GET', `/crawls/${crawl.id}/export?format=jsonl`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/x-ndjson; charset=utf-8');
  assert.equal(res.headers.get('content-disposition'), `attachment; filename="library-${crawl.id}.jsonl"`);
  const text = res.body as string;
  assert.ok(text.endsWith('\n'));
  const lines = text.split('\n').slice(0, -1);
  assert.equal(lines.length, tricky.length, 'a newline inside a value never splits a record');
  assert.deepEqual(lines.map((line) => JSON.parse(line)), expectedRecords(tricky));
});

test('the JSON export is one array of the same records', async () => {
  const crawl = await hub.engine.createCrawl(twoTypesSpec, { start: false });
  await insertItems(hub, crawl.id, tricky, EXTRACTED_AT);
  const res = await api(hub, 'GET', `/crawls/${crawl.id}/export?format=json`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(res.headers.get('content-disposition'), `attachment; filename="library-${crawl.id}.json"`);
  assert.deepEqual(res.body, expectedRecords(tricky));
});

test('the CSV export has url, type and every field of the spec as columns, quoting commas, quotes, newlines and keeping non-ASCII', async () => {
  const crawl = await hub.engine.createCrawl(twoTypesSpec, { start: false });
  await insertItems(hub, crawl.id, tricky, EXTRACTED_AT);
  const res = await api(hub, 'GET', `/crawls/${crawl.id}/export?format=csv`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/csv; charset=utf-8');
  assert.equal(res.headers.get('content-disposition'), `attachment; filename="library-${crawl.id}.csv"`);
  const rows = parseCsv(res.body as string);
  assert.deepEqual(rows[0], ['url', 'type', 'title', 'price', 'tags', 'name', 'data.url']);
  assert.deepEqual(rows.slice(1), [
    ['http://127.0.0.1:9/b/1', 'book', 'Commas, "quotes" and\nnewlines\r\nand CRLF', '£51.77', '["poetry","a,b","say \\"hi\\""]', '', ''],
    ['http://127.0.0.1:9/b/2', 'book', 'Ünïcödé: 日本語の本 🚀', '', '[]', '', ''],
    ['http://127.0.0.1:9/b/3?q=a,b', 'book', `'=HYPERLINK("http://evil")`, '', '["x"]', '', ''],
    ['http://127.0.0.1:9/a/1', 'author', '', '', '', "Ann O'Nymous", 'http://127.0.0.1:9/a/1/about'],
  ]);
  // Lists are JSON-encoded, so they read back exactly.
  assert.deepEqual(JSON.parse(rows[1]![4]!), tricky[0]!.data.tags);
});

const formulas: TestItem[] = ['=HYPERLINK("http://evil","x")', '+1+1', '-2+3', '@SUM(A1)', '\tcmd', '\rcmd', '＝1+1', 'plain', '1-2', ' =not first'].map((title, i) => ({
  url: `http://127.0.0.1:9/f/${i}`,
  type: 'book',
  data: { title, price: null, tags: [title] },
}));

test('the CSV export defuses cells a spreadsheet would run as formulas by default (OWASP: = + - @ tab CR get a leading \')', async () => {
  const crawl = await hub.engine.createCrawl(twoTypesSpec, { start: false });
  await insertItems(hub, crawl.id, formulas, EXTRACTED_AT);
  for (const query of ['', '&escapeFormulas=true', '&escapeFormulas=1']) {
    const rows = parseCsv((await api(hub, 'GET', `/crawls/${crawl.id}/export?format=csv${query}`)).body as string);
    assert.deepEqual(
      rows.slice(1).map((row) => row[2]),
      [`'=HYPERLINK("http://evil","x")`, "'+1+1", "'-2+3", "'@SUM(A1)", "'\tcmd", "'\rcmd", "'＝1+1", 'plain', '1-2', ' =not first'],
      query,
    );
    assert.equal(rows[1]![4], '["=HYPERLINK(\\"http://evil\\",\\"x\\")"]', 'a JSON-encoded list starts with [ and is left as it is');
  }
});

test('escapeFormulas=false exports formulas as they are; JSON and JSON Lines are never changed', async () => {
  const crawl = await hub.engine.createCrawl(twoTypesSpec, { start: false });
  await insertItems(hub, crawl.id, formulas, EXTRACTED_AT);
  const raw = parseCsv((await api(hub, 'GET', `/crawls/${crawl.id}/export?format=csv&escapeFormulas=false`)).body as string);
  assert.deepEqual(raw.slice(1).map((row) => row[2]), formulas.map((item) => item.data.title));
  const json = (await api(hub, 'GET', `/crawls/${crawl.id}/export?format=json`)).body as Array<{ data: { title: string } }>;
  assert.deepEqual(json.map((record) => record.data.title), formulas.map((item) => item.data.title));
  const jsonl = ((await api(hub, 'GET', `/crawls/${crawl.id}/export?format=jsonl&escapeFormulas=true`)).body as string).trim().split('\n');
  assert.deepEqual(jsonl.map((line) => JSON.parse(line).data.title), formulas.map((item) => item.data.title));
  const bad = await api(hub, 'GET', `/crawls/${crawl.id}/export?format=csv&escapeFormulas=maybe`);
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'BAD_REQUEST');
});

test('an export of a crawl without items is an empty file, an empty array, or the header row', async () => {
  const crawl = await hub.engine.createCrawl(twoTypesSpec, { start: false });
  assert.equal((await api(hub, 'GET', `/crawls/${crawl.id}/export?format=jsonl`)).body, '');
  assert.deepEqual((await api(hub, 'GET', `/crawls/${crawl.id}/export?format=json`)).body, []);
  assert.equal((await api(hub, 'GET', `/crawls/${crawl.id}/export?format=csv`)).body, 'url,type,title,price,tags,name,data.url\n');
});

test('an unknown export format is refused with 400 before anything is sent', async () => {
  const crawl = await hub.engine.createCrawl(twoTypesSpec, { start: false });
  const res = await api(hub, 'GET', `/crawls/${crawl.id}/export?format=xml`);
  assert.equal(res.status, 400);
  assert.equal(res.body.error.code, 'BAD_REQUEST');
  assert.match(res.body.error.message, /jsonl, json, csv/);
});

function makeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function memoryInUse(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

test('an export of 50,000 items streams in many chunks without the hub holding the export in memory', async () => {
  const gc = makeGc();
  const crawl = await hub.engine.createCrawl(testSpec({ name: 'big', items: [{ selector: 'p', fields: { text: 'p::text', n: 'b::text' } }] }), { start: false });
  const padding = 'lorem ipsum dolor sit amet, '.repeat(30); // ~840 bytes, so the export is ~45 MB
  const count = 50_000;
  function* items(): Generator<TestItem> {
    for (let i = 0; i < count; i++) yield { url: `http://127.0.0.1:9/p/${i}`, type: 'item', data: { text: `${i} ${padding}`, n: String(i) } };
  }
  await insertItems(hub, crawl.id, items());

  for (const format of ['jsonl', 'csv'] as const) {
    gc();
    const baseline = memoryInUse();
    let peak = 0;
    let chunks = 0;
    let bytes = 0;
    let lines = 0;
    let tail = '';
    const response = await fetch(`${hub.url}/api/crawls/${crawl.id}/export?format=${format}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(response.status, 200);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks++;
      bytes += value.length;
      const text = tail + decoder.decode(value, { stream: true });
      const parts = text.split('\n');
      tail = parts.pop()!;
      lines += parts.length;
      if (chunks === 10) {
        // A slow reader: if the hub ignored backpressure it would now pile up the rest of the export.
        await sleep(300);
        gc();
        peak = Math.max(peak, memoryInUse() - baseline);
      }
    }
    assert.ok(chunks > 10, `${format}: arrived in ${chunks} chunks`);
    assert.ok(bytes > 40 * 1024 * 1024, `${format}: ${bytes} bytes`);
    assert.equal(lines, format === 'csv' ? count + 1 : count);
    // A hub that ignored backpressure would hold most of the ~47 MB; one that streams holds its buffers and the
    // client's (about 10–15 MB measured in this one process, 15 MB once on a loaded CI machine): a third is the line.
    assert.ok(peak < bytes / 3, `${format}: memory grew by ${peak} bytes during an export of ${bytes} bytes`);
  }
});

test('when the client goes away mid-export, the hub stops reading items', async () => {
  const crawl = await hub.engine.createCrawl(testSpec({ name: 'abandoned' }), { start: false });
  const count = 20_000;
  await insertItems(hub, crawl.id, Array.from({ length: count }, (_, i) => ({ url: `http://127.0.0.1:9/${i}`, type: 'item', data: { title: 'x'.repeat(500), price: String(i) } })));

  const storage = hub.storage;
  const original = storage.iterateItems.bind(storage);
  let read = 0;
  let ended = false;
  storage.iterateItems = async function* (...args: Parameters<typeof storage.iterateItems>) {
    try {
      for await (const item of original(...args)) {
        read++;
        yield item;
      }
    } finally {
      ended = true;
    }
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const req = request(`${hub.url}/api/crawls/${crawl.id}/export?format=jsonl`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (error) => {
        if (!req.destroyed) reject(error);
      });
      req.end();
    });
    while (!ended) await sleep(10);
    assert.ok(read < count, `read ${read} of ${count} items before stopping`);
  } finally {
    storage.iterateItems = original;
  }
});
