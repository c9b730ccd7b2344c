// Extraction speed: pages per second for a typical ~30 KB listing page (quotes,
// tags, author links, pagination), parse + extract, in Node (cheerio) and in
// headless Chromium (DOMParser, the loop running inside the page). Each engine
// is measured in several runs after a warm-up; the table shows the medians,
// with parsing alone beside them as the raw reference (what the engine adds on
// top of the HTML parser).
import { performance } from 'node:perf_hooks';
import { assertSpec } from '../shared/spec/schema.ts';
import { extractHtml, parseHtml } from '../server/extract/cheerio.ts';
import { launchChromium } from '../server/browser/chromium.ts';
import { browserExtractBundle } from '../server/extract/browser-bundle.ts';

const RUNS = 5;
const PAGES_PER_RUN = 200;
const PAGE_URL = 'http://quotes.example/page/3/';

const AUTHORS = ['Albert Einstein', 'J.K. Rowling', 'Jane Austen', 'Marilyn Monroe', 'André Gide', 'Thomas A. Edison', 'Eleanor Roosevelt', 'Steve Martin'];
const TAGS = ['change', 'deep-thoughts', 'thinking', 'world', 'abilities', 'choices', 'inspirational', 'life', 'live', 'miracle', 'humor', 'friends'];

function quotesPage(quoteCount: number): string {
  const quotes: string[] = [];
  for (let i = 0; i < quoteCount; i++) {
    const author = AUTHORS[i % AUTHORS.length]!;
    const slug = author.replace(/[^A-Za-z]+/g, '-');
    const tags = TAGS.slice(i % 5, (i % 5) + 2 + (i % 4));
    quotes.push(`
    <div class="quote" itemscope itemtype="http://schema.org/CreativeWork">
        <span class="text" itemprop="text">&#8220;Quote number ${i}: the world as we have created it is a process of our thinking, and it cannot be changed without changing our thinking.&#8221;</span>
        <span>by <small class="author" itemprop="author">${author}</small>
        <a href="/author/${slug}">(about)</a>
        </span>
        <div class="tags">
            Tags:
            <meta class="keywords" itemprop="keywords" content="${tags.join(',')}" >
            ${tags.map((t) => `<a class="tag" href="/tag/${t}/page/1/">${t}</a>`).join('\n            ')}
        </div>
    </div>`);
  }
  const sidebar = TAGS.map((t, i) => `<span class="tag-item"><a class="tag" style="font-size: ${10 + i}px" href="/tag/${t}/">${t}</a></span>`).join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8"><title>Quotes to Scrape</title>
<link rel="stylesheet" href="/static/bootstrap.min.css"><link rel="stylesheet" href="/static/main.css"></head>
<body><div class="container">
<div class="row header-box"><div class="col-md-8"><h1><a href="/" style="text-decoration: none">Quotes to Scrape</a></h1></div>
<div class="col-md-4"><p><a href="/login">Login</a></p></div></div>
<div class="row"><div class="col-md-8">${quotes.join('')}
<nav><ul class="pager"><li class="previous"><a href="/page/2/"><span aria-hidden="true">&larr;</span> Previous</a></li>
<li class="next"><a href="/page/4/">Next <span aria-hidden="true">&rarr;</span></a></li></ul></nav></div>
<div class="col-md-4 tags-box"><h2>Top Ten tags</h2>${sidebar}</div></div></div>
<footer class="footer"><div class="container"><p class="text-muted">Quotes by: <a href="https://www.goodreads.com/quotes">GoodReads.com</a></p>
<p class="copyright">Made with <span class='zyte'>&hearts;</span> by <a href="https://www.zyte.com">Zyte</a></p></div></footer>
</body></html>`;
}

const SPEC = assertSpec({
  name: 'quotes-bench',
  startUrls: ['http://quotes.example/'],
  items: [
    {
      type: 'quote',
      selector: 'div.quote',
      fields: {
        text: 'span.text::text',
        author: 'small.author::text',
        authorUrl: { selector: 'span a::attr(href)', process: ['absoluteUrl'] },
        tags: { selector: 'div.tags a.tag::text', all: true },
        keywords: { selector: 'meta.keywords::attr(content)', process: [{ replace: ',', with: ', ' }] },
      },
    },
  ],
  follow: [{ selector: 'li.next a' }, { selector: 'div.tags', allow: ['**/tag/**'] }],
});

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

function measureNode(html: string, work: (html: string) => unknown): number[] {
  for (let i = 0; i < 20; i++) work(html); // warm-up: JIT and selector caches
  const rates: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    globalThis.gc?.();
    const start = performance.now();
    for (let i = 0; i < PAGES_PER_RUN; i++) work(html);
    rates.push(PAGES_PER_RUN / ((performance.now() - start) / 1000));
  }
  return rates;
}

const html = quotesPage(34);
const checkItems = extractHtml(html, SPEC, PAGE_URL).items.length;
console.log(`page: ${(Buffer.byteLength(html) / 1024).toFixed(1)} KB, ${checkItems} items; ${RUNS} runs of ${PAGES_PER_RUN} pages each`);

const nodeExtract = measureNode(html, (h) => extractHtml(h, SPEC, PAGE_URL));
const nodeParse = measureNode(html, (h) => parseHtml(h));

const browser = await launchChromium();
let browserExtract: number[];
let browserParse: number[];
try {
  const page = await browser.newPage();
  await page.addScriptTag({ content: await browserExtractBundle() });
  const measureInPage = (mode: 'extract' | 'parse'): Promise<number[]> =>
    page.evaluate(
      ({ html, spec, url, runs, pages, mode }) => {
        const g = globalThis as unknown as { crowdcrawlExtract: (...a: unknown[]) => unknown; crowdcrawlParse: (h: string) => void };
        const work = mode === 'extract' ? () => g.crowdcrawlExtract(html, spec, url) : () => g.crowdcrawlParse(html);
        for (let i = 0; i < 20; i++) work();
        const rates: number[] = [];
        for (let run = 0; run < runs; run++) {
          const start = performance.now();
          for (let i = 0; i < pages; i++) work();
          rates.push(pages / ((performance.now() - start) / 1000));
        }
        return rates;
      },
      { html, spec: SPEC, url: PAGE_URL, runs: RUNS, pages: PAGES_PER_RUN, mode },
    );
  browserExtract = await measureInPage('extract');
  browserParse = await measureInPage('parse');
} finally {
  await browser.close();
}

const rows = [
  ['node (cheerio/parse5)', median(nodeExtract), median(nodeParse)],
  ['browser (DOMParser)', median(browserExtract), median(browserParse)],
] as const;
const header = ['engine', 'extract pages/s', 'parse only pages/s', 'extract ms/page'];
const table = [header, ...rows.map(([name, extract, parse]) => [name, extract.toFixed(0), parse.toFixed(0), (1000 / extract).toFixed(2)])];
const widths = header.map((_, col) => Math.max(...table.map((row) => row[col]!.length)));
for (const row of table) console.log(row.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join('  '));
console.log(`ratio browser/node (extract): ${(median(browserExtract) / median(nodeExtract)).toFixed(2)}x`);
console.log(`runs (pages/s): node ${nodeExtract.map((r) => r.toFixed(0)).join(' ')}; browser ${browserExtract.map((r) => r.toFixed(0)).join(' ')}`);
