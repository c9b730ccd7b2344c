// Extraction speed: pages per second, parse + extract, in Node (cheerio) and in
// headless Chromium (DOMParser, the loop running inside the page), for two
// pages: a typical ~30 KB listing page (quotes, tags, author links,
// pagination) and the docs fixture's ~30 KB pages with the docs crawl's spec
// (title, headings, every link followed: what the tabs bench crawls; 50
// different pages in turn). Each engine is measured in several runs after a
// warm-up; the table shows the medians, with parsing alone beside them as the
// raw reference (what the engine adds on top of the HTML parser).
import { performance } from 'node:perf_hooks';
import { assertSpec } from '../shared/spec/schema.ts';
import { extractHtml, parseHtml } from '../server/extract/cheerio.ts';
import { launchChromium } from '../server/browser/chromium.ts';
import { browserExtractBundle } from '../server/extract/browser-bundle.ts';
import { docsSite } from '../test/fixtures/site/docs.ts';
import { docsCrawlSpec } from './lib.ts';
import { rendererMainThreadCpuMs } from './renderer-cpu.ts';

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

interface Case {
  name: string;
  /** Pages measured in turn (one page, or several of one site). */
  pages: { html: string; url: string }[];
  spec: typeof SPEC;
}

const DOCS_ORIGIN = 'http://docs.example';
const docs = docsSite({ pages: 1000 });
const cases: Case[] = [
  { name: 'quotes', pages: [{ html: quotesPage(34), url: PAGE_URL }], spec: SPEC },
  {
    name: 'docs',
    pages: docs.paths.slice(100, 150).map((path) => ({ html: docs.pages.get(path)!.body.toString('utf8'), url: DOCS_ORIGIN + path })),
    spec: assertSpec(docsCrawlSpec(`${DOCS_ORIGIN}/`)),
  },
];

/** Pages/s per run, and the process's CPU ms per page over all of them (warm-up included). */
function measureNode(c: Case, work: (html: string, url: string) => unknown): { rates: number[]; cpuMsPerPage: number } {
  const cpuBefore = process.cpuUsage();
  const each = (): void => {
    for (let i = 0; i < PAGES_PER_RUN; i++) {
      const page = c.pages[i % c.pages.length]!;
      work(page.html, page.url);
    }
  };
  each(); // warm-up: JIT and selector caches
  const rates: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    globalThis.gc?.();
    const start = performance.now();
    each();
    rates.push(PAGES_PER_RUN / ((performance.now() - start) / 1000));
  }
  const cpu = process.cpuUsage(cpuBefore);
  return { rates, cpuMsPerPage: (cpu.user + cpu.system) / 1000 / ((RUNS + 1) * PAGES_PER_RUN) };
}

const browser = await launchChromium();
const rows: [string, number, number, string][] = [];
const runs: string[] = [];
try {
  const page = await browser.newPage();
  await page.addScriptTag({ content: await browserExtractBundle() });
  // Pages/s by the page's clock, and the renderer main thread's CPU ms per
  // page over the same runs (what a shared machine's load does not change;
  // Node's figure is the process's CPU).
  const measureInPage = async (c: Case, mode: 'extract' | 'parse'): Promise<{ rates: number[]; cpuMsPerPage: number }> => {
    const cpuBefore = rendererMainThreadCpuMs();
    const rates = await page.evaluate(
      ({ pages, spec, runs, perRun, mode }) => {
        const g = globalThis as unknown as { crowdcrawlExtract: (...a: unknown[]) => unknown; crowdcrawlParse: (h: string) => void };
        const each = (): void => {
          for (let i = 0; i < perRun; i++) {
            const p = pages[i % pages.length]!;
            if (mode === 'extract') g.crowdcrawlExtract(p.html, spec, p.url);
            else g.crowdcrawlParse(p.html);
          }
        };
        each();
        const rates: number[] = [];
        for (let run = 0; run < runs; run++) {
          const start = performance.now();
          each();
          rates.push(perRun / ((performance.now() - start) / 1000));
        }
        return rates;
      },
      { pages: c.pages, spec: c.spec, runs: RUNS, perRun: PAGES_PER_RUN, mode },
    );
    return { rates, cpuMsPerPage: (rendererMainThreadCpuMs() - cpuBefore) / ((RUNS + 1) * PAGES_PER_RUN) };
  };
  for (const c of cases) {
    const first = c.pages[0]!;
    const checked = extractHtml(first.html, c.spec, first.url);
    console.log(`${c.name}: ${(Buffer.byteLength(first.html) / 1024).toFixed(1)} KB, ${checked.items.length} items, ${checked.links.length} links (first page of ${c.pages.length}); ${RUNS} runs of ${PAGES_PER_RUN} pages each`);
    const nodeExtract = measureNode(c, (h, u) => extractHtml(h, c.spec, u));
    const nodeParse = measureNode(c, (h) => parseHtml(h));
    const browserExtract = await measureInPage(c, 'extract');
    const browserParse = await measureInPage(c, 'parse');
    rows.push([`${c.name}, node (cheerio/parse5)`, median(nodeExtract.rates), median(nodeParse.rates), `${nodeExtract.cpuMsPerPage.toFixed(2)} / ${nodeParse.cpuMsPerPage.toFixed(2)}`]);
    rows.push([`${c.name}, browser (DOMParser)`, median(browserExtract.rates), median(browserParse.rates), `${browserExtract.cpuMsPerPage.toFixed(2)} / ${browserParse.cpuMsPerPage.toFixed(2)}`]);
    runs.push(`${c.name} runs (pages/s): node ${nodeExtract.rates.map((r) => r.toFixed(0)).join(' ')}; browser ${browserExtract.rates.map((r) => r.toFixed(0)).join(' ')}`);
  }
} finally {
  await browser.close();
}

const header = ['page, engine', 'extract pages/s', 'parse only pages/s', 'extract ms/page', 'parse ms/page', 'CPU ms/page: extract / parse'];
const table = [header, ...rows.map(([name, extract, parse, cpu]) => [name, extract.toFixed(0), parse.toFixed(0), (1000 / extract).toFixed(2), (1000 / parse).toFixed(2), cpu])];
const widths = header.map((_, col) => Math.max(...table.map((row) => row[col]!.length)));
for (const row of table) console.log(row.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join('  '));
for (const line of runs) console.log(line);
