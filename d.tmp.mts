import { parseHtml } from './server/extract/cheerio.ts';
const $ = parseHtml('<body><a id=x href=1>t</a><div id=y><a id=z href=2>u</a></div></body>');
const a = $('#x')[0]!;
console.log($(a).find(':scope a').toArray().map((e: any) => e.attribs.id));
console.log($(a).find(':scope *').toArray().map((e: any) => e.attribs.id));
console.log($('#y').find(':scope a').toArray().map((e: any) => e.attribs.id));
console.log($('#y').find('a').toArray().map((e: any) => e.attribs.id));
console.log($(a).find('a').toArray().map((e: any) => e.attribs.id));
