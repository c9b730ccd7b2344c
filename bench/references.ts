// The same-run references the hub's figures are printed beside: a plain
// undici loop (always), Scrapy (Debian's python3-scrapy) and Crawlee when they
// are installed. Each crawls the same fixture site with the same pages in
// flight and reports pages/s, its whole process's CPU per page and peak RSS.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';

export interface Reference {
  pagesPerSecond: number;
  cpuMsPerPage: number;
  peakRssMb: number;
  pages: number;
}

/** A plain undici loop over a known URL list, `concurrency` at a time, in this process. */
export async function rawLoop(urls: string[], concurrency: number): Promise<Reference> {
  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < urls.length) {
        const { body } = await request(urls[next++]!);
        await body.text();
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { pagesPerSecond: urls.length / seconds, cpuMsPerPage: (used.user + used.system) / 1000 / urls.length, peakRssMb: Number.NaN, pages: urls.length };
}

/** Why Scrapy cannot run here, or undefined when it can. */
export function scrapyMissing(): string | undefined {
  return python() ? undefined : 'Scrapy is not installed (apt-get install python3-scrapy)';
}

/** The first Python with Scrapy: the one on PATH, or Debian's (a pyenv shim may shadow it). */
function python(): string | undefined {
  return ['python3', '/usr/bin/python3'].find((bin) => spawnSync(bin, ['-c', 'import scrapy'], { stdio: 'ignore' }).status === 0);
}

const SPIDER = `
import resource, sys, scrapy
class Docs(scrapy.Spider):
    name = "docs"
    def __init__(self, start=None, **kw):
        super().__init__(**kw)
        self.start_urls = [start]
    def parse(self, response):
        yield {"title": response.css("main h1::text").get(), "headings": response.css("main h2::text").getall()}
        for href in response.css("a::attr(href)").getall():
            yield response.follow(href, self.parse)
    def closed(self, reason):
        stats = self.crawler.stats
        ru = resource.getrusage(resource.RUSAGE_SELF)
        seconds = (stats.get_value("finish_time") - stats.get_value("start_time")).total_seconds()
        print("SCRAPY %d %f %f %d" % (stats.get_value("response_received_count"), seconds, ru.ru_utime + ru.ru_stime, ru.ru_maxrss), file=sys.stderr)
`;

/** Scrapy's crawl of the site from `startUrl`, every link followed, `concurrency` requests per domain. */
export async function scrapyCrawl(startUrl: string, concurrency: number): Promise<Reference> {
  const dir = mkdtempSync(join(tmpdir(), 'crowdcrawl-bench-scrapy-'));
  try {
    writeFileSync(join(dir, 'docs_spider.py'), SPIDER);
    const settings = [`CONCURRENT_REQUESTS=${concurrency}`, `CONCURRENT_REQUESTS_PER_DOMAIN=${concurrency}`, 'ROBOTSTXT_OBEY=False', 'LOG_LEVEL=ERROR', 'TELNETCONSOLE_ENABLED=False'];
    const child = spawn(python() ?? 'python3', ['-m', 'scrapy', 'runspider', join(dir, 'docs_spider.py'), '-a', `start=${startUrl}`, ...settings.flatMap((s) => ['-s', s])], { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await new Promise((resolve) => child.once('exit', resolve));
    const line = stderr.match(/^SCRAPY (\d+) ([\d.]+) ([\d.]+) (\d+)$/m);
    if (!line) throw new Error(`scrapy printed no figures: ${stderr.slice(-2000)}`);
    const [pages, seconds, cpu, rssKb] = line.slice(1).map(Number) as [number, number, number, number];
    return { pagesPerSecond: pages / seconds, cpuMsPerPage: (cpu * 1000) / pages, peakRssMb: rssKb / 1024, pages };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Why Crawlee cannot run here (it is no dependency of ours; a bench machine may install it), or undefined. */
export async function crawleeMissing(): Promise<string | undefined> {
  try {
    await import('crawlee' as string);
    return undefined;
  } catch {
    return 'Crawlee is not installed (npm install --no-save crawlee to compare with it)';
  }
}

const CRAWLEE_SCRIPT = `
const { CheerioCrawler, Configuration } = await import('crawlee');
const started = performance.now();
let pages = 0;
const crawler = new CheerioCrawler({
  maxConcurrency: Number(process.argv[3]),
  async requestHandler({ $, enqueueLinks }) {
    pages++;
    void { title: $('main h1').text(), headings: $('main h2').map((_, e) => $(e).text()).get() };
    await enqueueLinks();
  },
}, new Configuration({ persistStorage: false, purgeOnStart: true }));
await crawler.run([process.argv[2]]);
const cpu = process.cpuUsage();
console.error('CRAWLEE', pages, (performance.now() - started) / 1000, (cpu.user + cpu.system) / 1e6, process.resourceUsage().maxRSS);
`;

/** Crawlee's CheerioCrawler on the same site, in its own process. */
export async function crawleeCrawl(startUrl: string, concurrency: number, cwd: string): Promise<Reference> {
  const dir = mkdtempSync(join(cwd, '.crowdcrawl-bench-crawlee-'));
  try {
    writeFileSync(join(dir, 'crawl.mjs'), CRAWLEE_SCRIPT);
    const child = spawn(process.execPath, [join(dir, 'crawl.mjs'), startUrl, String(concurrency)], { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir, env: { ...process.env, CRAWLEE_STORAGE_DIR: dir } });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await new Promise((resolve) => child.once('exit', resolve));
    const line = stderr.match(/^CRAWLEE (\d+) ([\d.]+) ([\d.]+) (\d+)$/m);
    if (!line) throw new Error(`crawlee printed no figures: ${stderr.slice(-2000)}`);
    const [pages, seconds, cpu, rssKb] = line.slice(1).map(Number) as [number, number, number, number];
    return { pagesPerSecond: pages / seconds, cpuMsPerPage: (cpu * 1000) / pages, peakRssMb: rssKb / 1024, pages };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
