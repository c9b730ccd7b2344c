// Entry of the browser bundle used by tests, benchmarks and `crowdcrawl preview
// --browser`: exposes the engine over DOMParser as a global, so a Playwright page
// (about:blank plus this script) can run it with page.evaluate.
import type { Spec } from '../../shared/spec/schema.ts';
import type { ExtractOptions, ExtractResult } from '../../shared/extract/engine.ts';
import { extractHtml, parseHtml } from './dom-parser.ts';

export type CrowdcrawlExtract = (html: string, spec: Spec, pageUrl: string, options?: ExtractOptions) => ExtractResult;

declare global {
  // eslint-disable-next-line no-var
  var crowdcrawlExtract: CrowdcrawlExtract;
  /** Parsing alone, for the benchmark's reference figure. */
  // eslint-disable-next-line no-var
  var crowdcrawlParse: (html: string) => void;
}

globalThis.crowdcrawlExtract = extractHtml;
globalThis.crowdcrawlParse = (html) => {
  parseHtml(html);
};
