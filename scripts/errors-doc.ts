// Writes docs/errors.md from the error catalogue (shared/errors.ts), so the
// table cannot drift from the code; test/shared/errors.test.ts fails when the
// file is not what this script would write.
//
//   node scripts/errors-doc.ts
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ERROR_GROUPS, ERRORS, type ErrorArea, type ErrorInfo } from '../shared/errors.ts';

const AREAS: Record<ErrorArea, string> = {
  socket: 'Worker socket, board and admin feed (Socket.IO replies, `hub:error`, handshake refusals)',
  http: 'Admin HTTP API (`/api`) and the console session',
  relay: 'Fetch relay (`/relay/:leaseId` answers, and pages recorded as failed)',
  page: 'Pages and sitemaps recorded as skipped or failed',
  worker: 'Workers (what they report, and what they show)',
  cli: 'The CLI (`crowdcrawl …`) and the console, about reaching the hub or a page',
};

/** A table cell: one line, pipes escaped. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function renderErrorsDoc(): string {
  const lines = [
    '# Error codes',
    '',
    '<!-- Written by scripts/errors-doc.ts from shared/errors.ts: edit the catalogue, then run `node scripts/errors-doc.ts`. -->',
    '',
    'Every error crowdcrawl reports carries one of these stable codes: socket replies and `hub:error` events',
    '(`{ code, message }`), admin API answers (`{ error: { code, message, details? } }` with the status below),',
    'relay refusals, the codes pages are recorded with, and what the CLI and the console print.',
    'Codes are never renamed; new ones may be added. Decide on the group, not on each code:',
    '',
    '| Group | What to do |',
    '| --- | --- |',
    ...Object.entries(ERROR_GROUPS).map(([group, todo]) => `| \`${group}\` | ${cell(todo)} |`),
  ];
  const entries = Object.entries(ERRORS) as [string, ErrorInfo][];
  for (const [area, title] of Object.entries(AREAS)) {
    const inArea = entries.filter(([, info]) => info.area === area);
    if (inArea.length === 0) continue;
    lines.push('', `## ${title}`, '', '| Code | Group | HTTP | Meaning | What to do |', '| --- | --- | --- | --- | --- |');
    for (const [code, info] of inArea) {
      lines.push(`| \`${code}\` | ${info.group} | ${info.status ?? '–'} | ${cell(info.meaning)} | ${cell(info.todo)} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export const ERRORS_DOC_PATH = new URL('../docs/errors.md', import.meta.url);

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writeFileSync(ERRORS_DOC_PATH, renderErrorsDoc());
  console.log(`wrote ${ERRORS_DOC_PATH.pathname}`);
}
