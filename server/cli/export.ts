// `crowdcrawl export ID`: streams a crawl's items from the hub to a file or to
// stdout, as JSON Lines, a JSON array or CSV.
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { extname } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from './command.ts';
import { EXPORT_FORMATS, isExportFormat, type ExportFormat } from '../export/export.ts';
import { runAdminCommand, UsageError } from './admin-client.ts';
import { followFeed } from './export-follow.ts';

const HELP = `usage: crowdcrawl export ID [--format jsonl|json|csv] [-o FILE] [--changed] [--no-escape-formulas] [--hub URL] [--token TOKEN]
       crowdcrawl export ID --follow [--after CURSOR] [-o FILE] [--hub URL] [--token TOKEN]

Downloads a crawl's items (it may still be running: you get what is stored so far).

  --follow          stream the items as they become valid, until the crawl ends,
                    as JSON Lines with a cursor on every line; an item withdrawn
                    later (a caught cheater) comes as {"cursor":N,"withdrawn":ID}.
                    With -o, lines are appended to FILE
  --after CURSOR    start after this cursor (the last one you read): resumes a
                    follow, or with no --follow reads what came after it once

  --format F        jsonl (one JSON object per line), json (one array) or csv
                    (default: from the -o file's extension, else jsonl)
  -o, --output FILE write to FILE (written as FILE.part and renamed when complete)
                    instead of stdout
  --changed         only the items of pages that changed since the previous run
                    (a re-crawl: items carried from unchanged pages are left out)
  --no-escape-formulas
                    csv: write cells that start with = + - @ (tab, CR) as they
                    are; by default they get a leading ' so a spreadsheet does
                    not run scraped text as a formula
  --hub URL         the hub (default: $CROWDCRAWL_HUB or http://127.0.0.1:8470)
  --token TOKEN     the admin token (default: $CROWDCRAWL_ADMIN_TOKEN, or for a hub
                    on this machine the admin-token file in its data dir)

exit codes: 0 ok, 1 failure (hub unreachable, token refused, download cut off),
2 bad command line or unknown ID`;

function formatFor(flag: string | undefined, output: string | undefined): ExportFormat {
  if (flag !== undefined) {
    if (!isExportFormat(flag)) throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')} (got "${flag}")`);
    return flag;
  }
  const fromName = output ? extname(output).slice(1).toLowerCase() : '';
  if (fromName === 'ndjson') return 'jsonl';
  return isExportFormat(fromName) ? fromName : 'jsonl';
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} kB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export const command: Command = {
  summary: "download a crawl's items as JSON Lines, JSON or CSV",
  run: (argv) =>
    runAdminCommand(
      {
        name: 'export',
        help: HELP,
        options: {
          format: { type: 'string', short: 'f' },
          output: { type: 'string', short: 'o' },
          'escape-formulas': { type: 'boolean' },
          follow: { type: 'boolean' },
          changed: { type: 'boolean' },
          after: { type: 'string' },
        },
        positionals: { min: 1, max: 1, usage: 'give exactly one crawl id' },
      },
      argv,
      async ({ values, positionals, connect }) => {
        const output = values.output === '-' ? undefined : values.output;
        if (values.follow === true || values.after !== undefined) {
          if (values.format !== undefined && values.format !== 'jsonl') throw new UsageError('--follow and --after give JSON Lines only (withdrawals cannot be said in CSV or one JSON array)');
          const after = values.after === undefined ? 0 : Number(values.after);
          if (!Number.isSafeInteger(after) || after < 0) throw new UsageError(`--after takes a cursor, a whole number >= 0 (got "${values.after}")`);
          const follow = values.follow === true;
          const body = await connect().feedStream(positionals[0]!, { after, follow });
          return followFeed(body, { crawlId: positionals[0]!, after, follow, output });
        }
        const format = formatFor(values.format, output);
        const body = await connect().exportStream(positionals[0]!, format, { escapeFormulas: values['escape-formulas'] ?? true, changed: values.changed ?? false });

        let bytes = 0;
        const count = new Transform({
          transform(chunk: Buffer, _encoding, done) {
            bytes += chunk.length;
            done(null, chunk);
          },
        });
        if (output === undefined) {
          try {
            await pipeline(body, count, process.stdout);
          } catch (error) {
            // The reader went away (`| head`): that is how it says it has enough.
            if ((error as { code?: string }).code === 'EPIPE') return 0;
            throw interrupted(error, 'the output is incomplete');
          }
          return 0;
        }
        // A half-written file must not look like a complete export: write aside, rename when complete.
        const partial = `${output}.part`;
        try {
          await pipeline(body, count, createWriteStream(partial));
          renameSync(partial, output);
        } catch (error) {
          rmSync(partial, { force: true });
          throw interrupted(error, `${output} was not written`);
        }
        console.error(`wrote ${size(bytes)} of ${format} to ${output}`);
        return 0;
      },
    ),
};

function interrupted(error: unknown, consequence: string): Error {
  const message = error instanceof Error ? error.message : String(error);
  return new Error(`the export stopped before its end (${message}); ${consequence}`);
}
