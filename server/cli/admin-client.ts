// The small HTTP client the operator commands (crawl, status, export) use to
// talk to a hub's admin API, how they find the hub and the admin token, and
// the command-line handling they share (runAdminCommand).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { Agent, request, type Dispatcher } from 'undici';
import { hubOptionsSchema } from '../options.ts';
import type { CrawlDetail, CrawlList, CrawlSummary, CreateCrawlRequest, HubList, HubStats, SpecUpdated, WorkerList, WorkerView } from '../../shared/admin-api.ts';
import type { ExportFormat } from '../export/export.ts';
import { ErrorCode, whatToDo } from '../../shared/errors.ts';

export const DEFAULT_HUB_URL = 'http://127.0.0.1:8470';
/** The file in a hub's data dir that holds its admin token (ADMIN_TOKEN_FILE in server/hub/hub.ts). */
const ADMIN_TOKEN_FILE = 'admin-token';

/**
 * A problem with the hub's answer or with reaching it; `code` is the hub's
 * error code or one of the client's own (HUB_UNREACHABLE, BAD_RESPONSE), all
 * in the catalogue. A newer hub may send a code this build does not know: it
 * is kept as sent.
 */
export class AdminClientError extends Error {
  override readonly name = 'AdminClientError';
  readonly code: ErrorCode | (string & {});
  /** The HTTP status, when the hub answered. */
  readonly status: number | undefined;
  readonly details: unknown;

  constructor(code: ErrorCode | (string & {}), message: string, status?: number, details?: unknown) {
    super(message);
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

/** A wrong command line (exit code 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface AdminToken {
  token: string;
  /** Where it came from, for the message when the hub refuses it. */
  source: string;
}

/** --hub, else $CROWDCRAWL_HUB, else the default local hub; must be an http(s) URL. */
export function resolveHubUrl(flag: string | undefined): string {
  const raw = flag ?? process.env.CROWDCRAWL_HUB ?? DEFAULT_HUB_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--hub must be a URL such as ${DEFAULT_HUB_URL} (got "${raw}")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--hub must be an http or https URL (got "${raw}")`);
  return url.href.replace(/\/+$/, '');
}

function isLoopback(hubUrl: string): boolean {
  const host = new URL(hubUrl).hostname;
  return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
}

/**
 * --token, else $CROWDCRAWL_ADMIN_TOKEN, else (for a hub on this machine) the
 * token file a hub keeps in its data dir: $CROWDCRAWL_DATA_DIR, ./data (what
 * `npm start` uses) or the default ~/.crowdcrawl.
 */
export function resolveToken(flag: string | undefined, hubUrl: string): AdminToken {
  if (flag) return { token: flag, source: '--token' };
  const fromEnv = process.env.CROWDCRAWL_ADMIN_TOKEN;
  if (fromEnv) return { token: fromEnv, source: 'CROWDCRAWL_ADMIN_TOKEN' };
  if (isLoopback(hubUrl)) {
    const dirs = [process.env.CROWDCRAWL_DATA_DIR, 'data', hubOptionsSchema.parse({}).dataDir];
    for (const dir of dirs) {
      if (!dir) continue;
      const file = join(dir, ADMIN_TOKEN_FILE);
      if (existsSync(file)) {
        const token = readFileSync(file, 'utf8').trim();
        if (token) return { token, source: file };
      }
    }
  }
  throw new UsageError(
    'no admin token: pass --token TOKEN or set CROWDCRAWL_ADMIN_TOKEN (the hub prints its token on first start and keeps it in <data dir>/admin-token)',
  );
}

export interface AdminClientOptions {
  hubUrl: string;
  token: AdminToken;
}

export class AdminClient {
  readonly hubUrl: string;
  private readonly token: AdminToken;
  /** Our own connection pool, closed when done, so a finished command never waits on idle keep-alive sockets. */
  private readonly agent: Agent;

  constructor(options: AdminClientOptions) {
    this.hubUrl = options.hubUrl;
    this.token = options.token;
    this.agent = new Agent({ keepAliveTimeout: 1000, connectTimeout: 10_000 });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /** Sends a request; resolves with the response when its status is 2xx, else throws the hub's error. */
  private async send(method: Dispatcher.HttpMethod, path: string, body?: unknown, timeouts: { bodyTimeout?: number } = {}): Promise<Dispatcher.ResponseData> {
    let response: Dispatcher.ResponseData;
    try {
      response = await request(`${this.hubUrl}/api${path}`, {
        method,
        dispatcher: this.agent,
        headers: {
          authorization: `Bearer ${this.token.token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        headersTimeout: 30_000,
        ...timeouts,
      });
    } catch (error) {
      const code = (error as { code?: string }).code ?? (error as Error).name;
      throw new AdminClientError(ErrorCode.HUB_UNREACHABLE, `cannot reach the hub at ${this.hubUrl} (${code}): is it running? Set the address with --hub or CROWDCRAWL_HUB.`);
    }
    if (response.statusCode >= 200 && response.statusCode < 300) return response;
    throw await this.errorFrom(response);
  }

  private async errorFrom(response: Dispatcher.ResponseData): Promise<AdminClientError> {
    const status = response.statusCode;
    let parsed: { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined;
    try {
      parsed = (await response.body.json()) as typeof parsed;
    } catch {
      // not the admin API's JSON (a proxy's page, or not a crowdcrawl hub at all)
    }
    const error = parsed?.error;
    if (status === 401) {
      return new AdminClientError(ErrorCode.UNAUTHORIZED, `the hub at ${this.hubUrl} refused the admin token from ${this.token.source}`, status);
    }
    if (error && typeof error.code === 'string' && typeof error.message === 'string') {
      return new AdminClientError(error.code, error.message, status, error.details);
    }
    return new AdminClientError(ErrorCode.BAD_RESPONSE, `the hub at ${this.hubUrl} answered HTTP ${status}: is this a crowdcrawl hub?`, status);
  }

  private async json<T>(method: Dispatcher.HttpMethod, path: string, body?: unknown): Promise<T> {
    const response = await this.send(method, path, body);
    return (await response.body.json()) as T;
  }

  /** Any admin API route, answered as JSON (undefined for 204). */
  async call<T>(method: Dispatcher.HttpMethod, path: string, body?: unknown): Promise<T> {
    const response = await this.send(method, path, body);
    return (response.statusCode === 204 ? undefined : await response.body.json()) as T;
  }

  createCrawl(spec: unknown, options: { start: boolean }): Promise<CrawlSummary> {
    const body: CreateCrawlRequest = { spec, start: options.start };
    return this.json('POST', '/crawls', body);
  }

  /** A new spec version for a running crawl (PUT /crawls/:id/spec). */
  updateSpec(id: string, spec: unknown): Promise<SpecUpdated> {
    return this.json('PUT', `/crawls/${encodeURIComponent(id)}/spec`, { spec });
  }

  async listCrawls(): Promise<CrawlSummary[]> {
    return (await this.json<CrawlList>('GET', '/crawls')).crawls;
  }

  getCrawl(id: string): Promise<CrawlDetail> {
    return this.json('GET', `/crawls/${encodeURIComponent(id)}`);
  }

  stats(): Promise<HubStats> {
    return this.json('GET', '/stats');
  }

  hubs(): Promise<HubList> {
    return this.json('GET', '/hubs');
  }

  async workers(): Promise<WorkerView[]> {
    return (await this.json<WorkerList>('GET', '/workers')).workers;
  }

  /** The export as a byte stream (errors before the first byte are thrown; later ones come from the stream). */
  async exportStream(id: string, format: ExportFormat, options: { escapeFormulas?: boolean; changed?: boolean } = {}): Promise<Readable> {
    const query = new URLSearchParams({ format });
    if (options.changed) query.set('changed', 'true');
    // The hub escapes CSV formulas unless told not to.
    if (options.escapeFormulas === false) query.set('escapeFormulas', 'false');
    const response = await this.send('GET', `/crawls/${encodeURIComponent(id)}/export?${query}`);
    return response.body;
  }

  /** The crawl's item feed from `after` (JSON Lines with cursors); with `follow`, open until the crawl ends. */
  async feedStream(id: string, options: { after: number; follow: boolean }): Promise<Readable> {
    const query = new URLSearchParams({ after: String(options.after), follow: String(options.follow) });
    // A followed crawl may commit nothing for a long while: no limit on the time between chunks.
    const response = await this.send('GET', `/crawls/${encodeURIComponent(id)}/feed?${query}`, undefined, { bodyTimeout: 0 });
    return response.body;
  }
}

/** How a command reports a failure: its message on stderr, and the exit code (2: bad input, 1: anything else). */
export function reportFailure(command: string, error: unknown): number {
  if (error instanceof UsageError) {
    console.error(`crowdcrawl ${command}: ${error.message}`);
    return 2;
  }
  if (error instanceof AdminClientError) {
    if (error.code === ErrorCode.SPEC_INVALID && Array.isArray(error.details)) {
      console.error(`crowdcrawl ${command}: the spec is invalid:`);
      for (const issue of error.details as { path?: unknown; message?: unknown }[]) console.error(`  ${String(issue.path)}: ${String(issue.message)}`);
      return 2;
    }
    console.error(`crowdcrawl ${command}: ${error.message} (${error.code})`);
    const todo = whatToDo(error.code);
    if (todo !== undefined) console.error(`  what to do: ${todo}`);
    // A crawl id or argument the hub did not take is a bad command line (exit code 2).
    const badInput: string[] = [ErrorCode.CRAWL_UNKNOWN, ErrorCode.BAD_REQUEST, ErrorCode.SCHEDULE_INVALID, ErrorCode.SCHEDULE_UNKNOWN];
    return badInput.includes(error.code) ? 2 : 1;
  }
  console.error(`crowdcrawl ${command}: ${error instanceof Error ? error.message : String(error)}`);
  return 1;
}

/** The options every operator command takes besides its own. */
const HUB_OPTIONS = {
  hub: { type: 'string' },
  token: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsOptionsConfig;

type CommandLine<T extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: T & typeof HUB_OPTIONS }>>;

export interface AdminCommand<T extends ParseArgsOptionsConfig> {
  /** The sub-command's name, as messages name it ("crowdcrawl NAME: ..."). */
  name: string;
  help: string;
  /** Its own options; --hub, --token and --help are added. */
  options: T;
  /** How many positional arguments it takes, and what to say otherwise. */
  positionals: { min: number; max: number; usage: string };
}

export interface AdminCommandContext<T extends ParseArgsOptionsConfig> {
  values: CommandLine<T>['values'];
  positionals: string[];
  /** Finds the admin token for the hub (--hub unless given) and opens a client, closed when the command ends. */
  connect(hubUrl?: string): AdminClient;
}

/**
 * Runs an operator command the way they all run: parses the command line
 * (--help prints `help`; a bad option or argument count is exit code 2 with
 * the help), then `body`, and reports any failure with reportFailure's exit
 * codes. The client `connect` opened is closed whatever happens.
 */
export async function runAdminCommand<T extends ParseArgsOptionsConfig>(
  command: AdminCommand<T>,
  argv: string[],
  body: (context: AdminCommandContext<T>) => Promise<number>,
): Promise<number> {
  let client: AdminClient | undefined;
  try {
    let parsed: CommandLine<T>;
    try {
      parsed = parseArgs({ args: argv, allowPositionals: true, allowNegative: true, options: { ...command.options, ...HUB_OPTIONS } }) as CommandLine<T>;
    } catch (error) {
      throw new UsageError(`${(error as Error).message}\n\n${command.help}`);
    }
    const { values, positionals } = parsed;
    const common = values as { hub?: string; token?: string; help?: boolean };
    if (common.help) {
      console.log(command.help);
      return 0;
    }
    const { min, max, usage } = command.positionals;
    if (positionals.length < min || positionals.length > max) throw new UsageError(`${usage}\n\n${command.help}`);
    const connect = (hubUrl = resolveHubUrl(common.hub)): AdminClient => {
      client = new AdminClient({ hubUrl, token: resolveToken(common.token, hubUrl) });
      return client;
    };
    return await body({ values, positionals, connect });
  } catch (error) {
    return reportFailure(command.name, error);
  } finally {
    await client?.close();
  }
}
