// The hub's own extraction, on a worker thread so a big page never stalls the
// event loop that serves sockets and the relay. It runs the one extraction
// engine through the Node adapter (cheerio/parse5), as Node workers do.
import { parentPort } from 'node:worker_threads';
import { extractHtml } from '../extract/cheerio.ts';
import type { Spec } from '../../shared/spec/schema.ts';

export interface ExtractJob {
  id: number;
  html: string;
  spec: Spec;
  pageUrl: string;
  depth: number;
}

parentPort!.on('message', (job: ExtractJob) => {
  try {
    const result = extractHtml(job.html, job.spec, job.pageUrl, { depth: job.depth });
    parentPort!.postMessage({ id: job.id, result });
  } catch (error) {
    parentPort!.postMessage({ id: job.id, error: (error as Error).message ?? String(error) });
  }
});
