// `crowdcrawl hub`: runs a hub until Ctrl-C (or SIGTERM), then shuts it down
// cleanly: workers are disconnected and the database is closed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Command } from './command.ts';
import { hubOptionsSchema, type HubOptions } from '../options.ts';
import { UsageError } from './admin-client.ts';
import { createLogger, logLevelFrom, type LogLevel } from '../log.ts';

const HELP = `usage: crowdcrawl hub [--config FILE] [--port 8470] [--host 127.0.0.1] [--data-dir DIR] [--database-url URL] [--allow-host HOST]... [--allowed-origin ORIGIN]... [--lease-ttl-ms MS] [--log-level LEVEL]

Runs a hub: the contributor page at /, the admin console at /admin and the
admin API at /api, all on one port.

  --config FILE     a JSON file of the hub's settings (validation, relay,
                    robots, retry, ...; docs/operate.md#settings-file); the
                    flags below win over it
  --port N          the port (default 8470; 0 picks a free one)
  --host HOST       the address to listen on (default 127.0.0.1, this machine
                    only; 0.0.0.0 lets volunteers on the network connect)
  --data-dir DIR    where the database and the admin token are kept
                    (default: $CROWDCRAWL_DATA_DIR or ~/.crowdcrawl)
  --database-url URL
                    keep the crawls in PostgreSQL instead of the data dir's
                    SQLite: postgres://user:password@host:5432/database
                    (default: $CROWDCRAWL_DATABASE_URL); the schema is made or
                    brought up to date at start. Move a data dir over with
                    crowdcrawl migrate (docs/scale-out.md)
  --allow-host HOST a host the fetch relay may fetch although it is private or
                    loopback (a site on your own network); may be repeated
  --allowed-origin ORIGIN
                    a web origin (https://example.org) whose pages may connect
                    browser workers besides the hub's own; may be repeated.
                    Browsers on any other site's page are refused
  --lease-ttl-ms MS how long a worker has for one page before it goes to
                    another (default 60000)
  --log-level LEVEL trace, debug, info, warn, error or silent (default:
                    $CROWDCRAWL_LOG_LEVEL or info). The log goes to stderr:
                    readable lines on a terminal, JSON lines otherwise

The admin token is read from $CROWDCRAWL_ADMIN_TOKEN, else from DIR/admin-token;
on the first start it is generated there and printed once.

exit codes: 0 stopped by Ctrl-C or SIGTERM, 1 the hub failed (STORAGE_UNAVAILABLE: the
database could not be reached), 2 bad command line`;

function parseInteger(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw new UsageError(`--${name} must be a whole number (got "${raw}")`);
  return Number(raw);
}

export interface HubCommandOptions {
  hub: HubOptions;
  logLevel: LogLevel;
}

/** The hub's options from the command line, checked by the hub's own schema. */
export function hubOptionsFromArgs(argv: string[]): HubCommandOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'data-dir': { type: 'string' },
        'database-url': { type: 'string' },
        'allow-host': { type: 'string', multiple: true },
        'allowed-origin': { type: 'string', multiple: true },
        'lease-ttl-ms': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${HELP}`);
  }
  if (values.help) return 'help';
  let logLevel: LogLevel;
  try {
    logLevel = logLevelFrom(values['log-level']);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const options: HubOptions = values.config === undefined ? {} : readConfig(values.config);
  const port = parseInteger('port', values.port);
  if (port !== undefined) options.port = port;
  if (values.host !== undefined) options.host = values.host;
  const dataDir = values['data-dir'] ?? process.env.CROWDCRAWL_DATA_DIR;
  if (dataDir) options.dataDir = dataDir;
  const databaseUrl = values['database-url'] ?? process.env.CROWDCRAWL_DATABASE_URL;
  if (databaseUrl) options.databaseUrl = databaseUrl;
  if (values['allow-host']) options.allowHosts = values['allow-host'];
  if (values['allowed-origin']) options.allowedOrigins = values['allowed-origin'];
  const leaseTtlMs = parseInteger('lease-ttl-ms', values['lease-ttl-ms']);
  if (leaseTtlMs !== undefined) options.leaseTtlMs = leaseTtlMs;
  const checked = hubOptionsSchema.safeParse(options);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    const flag = { port: 'port', host: 'host', dataDir: 'data-dir', databaseUrl: 'database-url', allowHosts: 'allow-host', allowedOrigins: 'allowed-origin', leaseTtlMs: 'lease-ttl-ms' }[String(issue.path[0])];
    const where = flag ? `--${flag}: ` : values.config !== undefined ? `${values.config}: ${issue.path.join('.') || '$'}: ` : '';
    throw new UsageError(`${where}${issue.message}`);
  }
  return { hub: options, logLevel };
}

/** The settings file: one JSON object of hub options (the same names as HubOptions). */
function readConfig(path: string): HubOptions {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`--config ${path}: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError(`--config ${path}: the file must hold one JSON object of settings`);
  return parsed as HubOptions;
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

export const command: Command = {
  summary: 'run a hub (contributor page, admin console and API on one port)',
  async run(argv) {
    let parsed: HubCommandOptions | 'help';
    try {
      parsed = hubOptionsFromArgs(argv);
    } catch (error) {
      console.error(`crowdcrawl hub: ${(error as Error).message}`);
      return 2;
    }
    if (parsed === 'help') {
      console.log(HELP);
      return 0;
    }
    const log = createLogger({ level: parsed.logLevel, name: 'hub' });
    const options: HubOptions = { ...parsed.hub, log };
    // Loaded here, not at the top: `crowdcrawl hub --help` should not have to load the whole hub.
    const { startHub, ADMIN_TOKEN_FILE } = await import('../app.ts');
    const { redactDatabaseUrl } = await import('../storage/postgres/postgres-storage.ts');
    let hub: Awaited<ReturnType<typeof startHub>>;
    try {
      hub = await startHub(options);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'EADDRINUSE') console.error(`crowdcrawl hub: port ${options.port ?? 8470} is in use; pick another with --port`);
      else if (code === 'EACCES' || code === 'EADDRNOTAVAIL') console.error(`crowdcrawl hub: cannot listen on ${options.host ?? '127.0.0.1'}:${options.port ?? 8470} (${code})`);
      else if (code === 'STORAGE_UNAVAILABLE') console.error(`crowdcrawl hub: STORAGE_UNAVAILABLE: ${(error as Error).message}`);
      else console.error(`crowdcrawl hub: ${(error as Error).message}`);
      return 1;
    }
    // Handlers first, then the URLs: whoever reads them may send a signal at once.
    const stopped = new Promise<number>((resolve) => {
      let stopping = false;
      const stop = (signal: NodeJS.Signals) => {
        if (stopping) {
          log.warn(`${signal} again: exiting without a clean shutdown`);
          process.exit(1);
        }
        stopping = true;
        log.info(`${signal}: shutting down`);
        hub.close().then(
          () => {
            log.info('stopped');
            resolve(0);
          },
          (error: unknown) => {
            log.error({ err: error }, 'shutdown failed');
            resolve(1);
          },
        );
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });

    const { dataDir, host, databaseUrl } = hub.options;
    const tokenFile = join(dataDir, ADMIN_TOKEN_FILE);
    const lines = [
      databaseUrl ? `crowdcrawl hub running (data in PostgreSQL at ${redactDatabaseUrl(databaseUrl)})` : `crowdcrawl hub running (data in ${dataDir})`,
      `  contributor page  ${hub.url}/`,
      `  admin console     ${hub.url}/admin`,
      `  admin API         ${hub.url}/api`,
    ];
    if (hub.adminTokenGenerated) {
      lines.push(`  admin token       ${hub.adminToken}`, `                    (new: shown only this once, kept in ${tokenFile})`);
    } else if (process.env.CROWDCRAWL_ADMIN_TOKEN) {
      lines.push('  admin token       from CROWDCRAWL_ADMIN_TOKEN');
    } else {
      lines.push(`  admin token       in ${tokenFile}`);
    }
    if (!isLoopbackHost(host)) {
      lines.push(`  listening on ${host}: other machines can connect. Put HTTPS in front before exposing the hub to the internet.`);
    }
    console.log(lines.join('\n'));
    return stopped;
  },
};
