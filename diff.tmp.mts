import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { assertSpec } from './shared/spec/schema.ts';
import { extractHtml } from './server/extract/cheerio.ts';
import { startBrowserExtractor } from './test/shared/extract/browser-extractor.ts';
const F = 'test/fixtures/conformance/';
const general = assertSpec(JSON.parse(readFileSync(F + 'general.spec.json', 'utf8')));
const only = process.argv[2];
const cases: any[] = [];
for (const f of readdirSync(F).filter((f) => f.endsWith('.html')).sort()) {
  const name = f.slice(0, -5);
  if (only && !name.includes(only)) continue;
  const html = readFileSync(F + f, 'utf8');
  const pageUrl = `http://example.com/conformance/${f}`;
  cases.push({ name: name + ' G', html, spec: general, pageUrl });
  if (existsSync(F + name + '.spec.json')) cases.push({ name: name + ' O', html, spec: assertSpec(JSON.parse(readFileSync(F + name + '.spec.json', 'utf8'))), pageUrl });
}
const b = await startBrowserExtractor();
const br = await b.extractAll(cases);
await b.close();
function diff(a: any, c: any, path: string, out: string[]) {
  if (out.length > 6) return;
  if (JSON.stringify(a) === JSON.stringify(c)) return;
  if (a && c && typeof a === 'object' && typeof c === 'object' && Array.isArray(a) === Array.isArray(c) && (!Array.isArray(a) || a.length === c.length)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(c)])) diff(a[k], c[k], path + '.' + k, out);
    return;
  }
  if (Array.isArray(a) && Array.isArray(c)) { out.push(`${path} arrays: only browser ${JSON.stringify(a.filter((x: any) => !c.some((y: any) => JSON.stringify(y) === JSON.stringify(x))))}; only node ${JSON.stringify(c.filter((x: any) => !a.some((y: any) => JSON.stringify(y) === JSON.stringify(x))))}`.slice(0, 1500)); return; }
  out.push(`${path}\n    browser: ${JSON.stringify(a)?.slice(0, 400)}\n    node:    ${JSON.stringify(c)?.slice(0, 400)}`);
}
cases.forEach((c, i) => {
  const n = extractHtml(c.html, c.spec, c.pageUrl);
  const out: string[] = [];
  diff(br[i], n, '', out);
  if (out.length) console.log('## ' + c.name + '\n  ' + out.join('\n  '));
});
