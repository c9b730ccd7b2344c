import { startBrowserExtractor } from './test/shared/extract/browser-extractor.ts';
import { extractHtml } from './server/extract/cheerio.ts';
import { assertSpec } from './shared/spec/schema.ts';
import { readFileSync } from 'node:fs';
const html = readFileSync(process.argv[2]!, 'utf8');
const sels = process.argv.slice(3);
const fields: Record<string, unknown> = {};
sels.forEach((s, i) => { fields['f' + i] = { selector: s, all: true }; });
const spec = assertSpec({ name: 'p', startUrls: ['http://example.com/'], items: [{ selector: 'html', fields }] });
const b = await startBrowserExtractor();
const [br] = await b.extractAll([{ html, spec, pageUrl: 'http://example.com/' }]);
const nd = extractHtml(html, spec, 'http://example.com/');
await b.close();
sels.forEach((s, i) => {
  const a = JSON.stringify((br as any).items?.[0]?.data['f' + i] ?? br), c = JSON.stringify(nd.items[0]?.data['f' + i]);
  console.log(a === c ? 'SAME' : 'DIFF', s, '\n  browser:', a, a === c ? '' : '\n  node:   ' + c);
});
