// Where the browser engine's extraction time goes on the docs fixture's pages
// (what the tabs bench crawls), without a hub or a crawl: the extraction
// bundle (unminified, so function names are the source's) runs over 50
// different docs pages in turn inside headless Chromium, under the DevTools
// CPU profiler, and the top self-time functions are printed per page.
// `node bench/extract-profile.ts [pages]`. Not part of `npm run bench`.
import { assertSpec } from '../shared/spec/schema.ts';
import { launchChromium } from '../server/browser/chromium.ts';
import { browserExtractBundle } from '../server/extract/browser-bundle.ts';
import { docsSite } from '../test/fixtures/site/docs.ts';
import { emptySummary, formatSummary, summarizeProfile, type Profile } from './cdp-profile.ts';
import { docsCrawlSpec } from './lib.ts';

const PAGES = Number(process.argv[2] ?? 2000);
const ORIGIN = 'http://docs.example';
const docs = docsSite({ pages: 1000 });
const pages = docs.paths.slice(100, 150).map((path) => ({ html: docs.pages.get(path)!.body.toString('utf8'), url: ORIGIN + path }));
const spec = assertSpec(docsCrawlSpec(`${ORIGIN}/`));

const browser = await launchChromium();
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.addScriptTag({ content: await browserExtractBundle() });
  const run = (count: number) =>
    page.evaluate(
      ({ pages, spec, count }) => {
        const g = globalThis as unknown as { crowdcrawlExtract: (...a: unknown[]) => unknown };
        const start = performance.now();
        for (let i = 0; i < count; i++) g.crowdcrawlExtract(pages[i % pages.length]!.html, spec, pages[i % pages.length]!.url);
        return performance.now() - start;
      },
      { pages, spec, count },
    );
  await run(200); // warm-up
  const cdp = await context.newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  await cdp.send('Profiler.start');
  const ms = await run(PAGES);
  const { profile } = (await cdp.send('Profiler.stop')) as unknown as { profile: Profile };
  console.log(`${PAGES} docs pages extracted in ${ms.toFixed(0)} ms: ${(ms / PAGES).toFixed(3)} ms/page (wall, under the profiler)`);
  console.log(formatSummary(summarizeProfile(profile), PAGES, { top: Number(process.env.PROFILE_TOP ?? 30) }).join('\n'));
} finally {
  await browser.close();
}
