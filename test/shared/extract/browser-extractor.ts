// Runs the extraction engine inside one real headless Chromium (DOMParser and
// the browser's querySelectorAll), for the tests that compare it with Node.
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../../server/browser/chromium.ts';
import { browserExtractBundle } from '../../../server/extract/browser-bundle.ts';
import type { CrowdcrawlExtract } from '../../../client/extract/browser-entry.ts';
import type { Spec } from '../../../shared/spec/schema.ts';
import type { ExtractOptions, ExtractResult } from '../../../shared/extract/engine.ts';

export interface ExtractionCase {
  html: string;
  spec: Spec;
  pageUrl: string;
  options?: ExtractOptions;
}

export interface BrowserExtractor {
  /** Extracts every case in the page, in order; an engine error comes back as { error }. */
  extractAll(cases: readonly ExtractionCase[]): Promise<(ExtractResult | { error: string })[]>;
  close(): Promise<void>;
}

export async function startBrowserExtractor(): Promise<BrowserExtractor> {
  const bundle = await browserExtractBundle();
  const browser: Browser = await launchChromium();
  const page: Page = await browser.newPage();
  await page.goto('about:blank');
  await page.addScriptTag({ content: bundle });
  return {
    extractAll: (cases) =>
      page.evaluate((all) => {
        const run = (globalThis as unknown as { crowdcrawlExtract: CrowdcrawlExtract }).crowdcrawlExtract;
        return all.map((c) => {
          try {
            return run(c.html, c.spec, c.pageUrl, c.options);
          } catch (error) {
            return { error: String(error) };
          }
        });
      }, cases as ExtractionCase[]),
    close: () => browser.close(),
  };
}
