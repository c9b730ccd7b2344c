// `crowdcrawl migrate --from DIR --to postgres://…`: moves a hub from its
// embedded SQLite to PostgreSQL (server/storage/postgres/copy-from-sqlite.ts).
// Stop the hub first; start it again with --database-url.
import { parseArgs } from 'node:util';
import type { Command } from './command.ts';

const HELP = `usage: crowdcrawl migrate --from DIR --to postgres://user:password@host:5432/database [--batch ROWS]

Copies a hub's data dir (its SQLite database) into an empty PostgreSQL
database: crawls in progress (queued pages, results, items, start sources,
counters), saved specs, contributors, trust records, bans, worker tokens and
kept bodies. Stop the hub first; then start it with --database-url URL.

  --from DIR     the hub's data dir (the one holding crowdcrawl.db)
  --to URL       an empty PostgreSQL database (default: $CROWDCRAWL_DATABASE_URL);
                 its schema is made here. A database that holds data is refused
                 (MIGRATE_TARGET_NOT_EMPTY)
  --batch ROWS   rows read and written at a time (default 2000): what memory holds

The copy is one transaction: if it fails, the target is left empty, and the
command can be run again. The data dir is left as it was.

exit codes: 0 copied, 1 failed (the message names the error code), 2 bad command line`;

export const command: Command = {
  summary: 'copy a hub\'s SQLite data dir into an empty PostgreSQL database',
  async run(argv) {
    let values;
    try {
      ({ values } = parseArgs({ args: argv, options: { from: { type: 'string' }, to: { type: 'string' }, batch: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
    } catch (error) {
      console.error(`crowdcrawl migrate: ${(error as Error).message}\n\n${HELP}`);
      return 2;
    }
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const to = values.to ?? process.env.CROWDCRAWL_DATABASE_URL;
    const problem = !values.from
      ? '--from DIR is required'
      : !to || !/^postgres(ql)?:\/\/\S+$/.test(to)
        ? '--to must be a database URL: postgres://user:password@host:5432/database'
        : values.batch !== undefined && !/^[1-9]\d{0,6}$/.test(values.batch)
          ? '--batch must be a whole number of rows (1 to 9999999)'
          : undefined;
    if (problem) {
      console.error(`crowdcrawl migrate: ${problem}\n\n${HELP}`);
      return 2;
    }
    const { copySqliteToPostgres } = await import('../storage/postgres/copy-from-sqlite.ts');
    const { redactDatabaseUrl } = await import('../storage/postgres/postgres-storage.ts');
    try {
      const counts = await copySqliteToPostgres(values.from!, to!, {
        batch: values.batch === undefined ? undefined : Number(values.batch),
        onProgress: ({ table, rows }) => {
          if (process.stderr.isTTY) process.stderr.write(`\r  ${table}: ${rows} rows`);
        },
      });
      if (process.stderr.isTTY) process.stderr.write('\n');
      console.log(`copied ${values.from} into ${redactDatabaseUrl(to!)}:`);
      for (const [table, rows] of Object.entries(counts)) console.log(`  ${table.padEnd(14)} ${rows}`);
      console.log(`start the hub with: crowdcrawl hub --database-url '${redactDatabaseUrl(to!)}'`);
      return 0;
    } catch (error) {
      const code = (error as { code?: string }).code;
      const known = code && /^[A-Z_]+$/.test(code) ? `${code}: ` : '';
      console.error(`crowdcrawl migrate: ${known}${(error as Error).message}`);
      return 1;
    }
  },
};
