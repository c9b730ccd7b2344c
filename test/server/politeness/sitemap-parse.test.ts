import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { parseSitemap, sitemapBytes, SitemapError } from '../../../server/politeness/sitemap-parse.ts';

const urlset = (locs: string[]) => `<?xml version="1.0" encoding="UTF-8"?>
<!-- generated -->
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:xhtml="http://www.w3.org/1999/xhtml">
${locs.map((loc) => `  <url>\n    <loc>${loc}</loc>\n    <lastmod>2024-01-01</lastmod>\n    <xhtml:link rel="alternate" hreflang="de" href="http://example.com/de/"/>\n  </url>`).join('\n')}
</urlset>`;

test('reads the <loc> of every <url> of a urlset, entities and CDATA decoded, other elements ignored', async () => {
  const xml = urlset(['http://example.com/a?x=1&amp;y=2', '<![CDATA[http://example.com/b?p=1&q=2]]>', '  http://example.com/c  ']);
  const parsed = await parseSitemap(Buffer.from(xml));
  assert.deepEqual(parsed, {
    kind: 'urlset',
    urls: ['http://example.com/a?x=1&y=2', 'http://example.com/b?p=1&q=2', 'http://example.com/c'],
    truncated: false,
  });
});

test('reads a sitemap index, with namespace prefixes on its elements', async () => {
  const xml = `<?xml version="1.0"?>
<sm:sitemapindex xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sm:sitemap><sm:loc>http://example.com/one.xml</sm:loc></sm:sitemap>
  <sm:sitemap><sm:loc>http://example.com/two.xml.gz</sm:loc><sm:lastmod>2024-01-01</sm:lastmod></sm:sitemap>
</sm:sitemapindex>`;
  assert.deepEqual(await parseSitemap(Buffer.from(xml)), {
    kind: 'index',
    urls: ['http://example.com/one.xml', 'http://example.com/two.xml.gz'],
    truncated: false,
  });
});

test('a gzipped sitemap is gunzipped whatever it is called; a plain one is left alone', async () => {
  const xml = Buffer.from(urlset(['http://example.com/z']));
  assert.equal((await sitemapBytes(gzipSync(xml))).toString(), xml.toString());
  assert.equal(await sitemapBytes(xml), xml);
  const parsed = await parseSitemap(await sitemapBytes(gzipSync(xml)));
  assert.deepEqual(parsed.urls, ['http://example.com/z']);
});

test('a gzip that inflates past the cap is refused (a zip bomb), and broken gzip is reported', async () => {
  const bomb = gzipSync(Buffer.alloc(2 * 1024 * 1024, 0x20));
  await assert.rejects(sitemapBytes(bomb, 1024 * 1024), (error: unknown) => error instanceof SitemapError && error.code === 'SITEMAP_TOO_LARGE');
  const broken = Buffer.concat([gzipSync(Buffer.from('hello world')).subarray(0, 12), Buffer.from('garbage')]);
  await assert.rejects(sitemapBytes(broken), (error: unknown) => error instanceof SitemapError && error.code === 'SITEMAP_BAD_GZIP');
});

test('reads a text sitemap, one URL a line, and refuses a text file that is not one', async () => {
  assert.deepEqual(await parseSitemap(Buffer.from('\uFEFFhttp://example.com/1\r\n\r\nhttps://example.com/2\n')), {
    kind: 'text',
    urls: ['http://example.com/1', 'https://example.com/2'],
    truncated: false,
  });
  await assert.rejects(parseSitemap(Buffer.from('hello\nworld\n')), (error: unknown) => error instanceof SitemapError && error.code === 'SITEMAP_INVALID');
});

test('an XML document that is not a sitemap (an HTML page, an RSS feed) is refused', async () => {
  for (const body of ['<!DOCTYPE html><html><body><a href="/x">x</a></body></html>', '<rss><channel><item><link>http://e.com/</link></item></channel></rss>']) {
    await assert.rejects(parseSitemap(Buffer.from(body)), (error: unknown) => error instanceof SitemapError && error.code === 'SITEMAP_INVALID' && /root element/.test(error.message));
  }
});

test('only the first maxUrls URLs are kept, and the sitemap says it was cut', async () => {
  const parsed = await parseSitemap(Buffer.from(urlset(['http://e.com/1', 'http://e.com/2', 'http://e.com/3'])), 2);
  assert.deepEqual(parsed.urls, ['http://e.com/1', 'http://e.com/2']);
  assert.equal(parsed.truncated, true);
});

test('a large sitemap (50,000 URLs) is read whole, in slices', async () => {
  const locs = Array.from({ length: 50_000 }, (_, i) => `http://example.com/page/${i}`);
  const parsed = await parseSitemap(Buffer.from(urlset(locs)));
  assert.equal(parsed.urls.length, 50_000);
  assert.equal(parsed.urls[49_999], 'http://example.com/page/49999');
});
