// The hub's and the workers' diagnostics: pino, writing to stderr (stdout is
// kept for what a command prints as its result, such as the hub's URLs).
// On a terminal the lines are made readable by pino-pretty; anywhere else they
// are JSON lines, one object per line, for a log collector.
//
// pino-pretty runs as a stream in this process, not as a pino transport: a
// transport starts a worker thread that loads its own copy of the modules,
// which on a small machine added ~0.5 s to each start (measured: 0.35 s for
// JSON, 0.5 s with the pretty stream, 0.86–1.06 s with the transport) and
// loses lines still queued for the thread when the process exits abruptly.
// Both destinations write synchronously: the hub logs per event (a worker
// leaving, a sitemap read, an error), not per page, so the cost is small and
// nothing is lost when the process dies.
import { createRequire } from 'node:module';
import { isatty } from 'node:tty';
import type { Writable } from 'node:stream';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/** A command's --log-level, else $CROWDCRAWL_LOG_LEVEL, else info; throws on a level pino does not have. */
export function logLevelFrom(flag: string | undefined, env: string | undefined = process.env.CROWDCRAWL_LOG_LEVEL): LogLevel {
  const raw = flag ?? (env || undefined);
  if (raw === undefined) return 'info';
  if (!isLogLevel(raw)) throw new Error(`${flag === undefined ? 'CROWDCRAWL_LOG_LEVEL' : '--log-level'} must be one of ${LOG_LEVELS.join(', ')} (got "${raw}")`);
  return raw;
}

/** One level's method: a message, or fields (an `err` is serialized with its stack) and a message. */
export interface LogFn {
  (msg: string): void;
  (fields: Record<string, unknown>, msg?: string): void;
}

/** What the hub needs of a logger; a pino logger is one. */
export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  /** A logger whose lines carry `bindings` too (e.g. `{ component: 'robots' }`). */
  child(bindings: Record<string, unknown>): Logger;
}

const ignore = (): void => {};

/** Drops everything (tests). */
export const silentLogger: Logger = {
  trace: ignore,
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: ignore,
  child: () => silentLogger,
};

export interface CreateLoggerOptions {
  /** Default info. */
  level?: LogLevel;
  /** A file descriptor (default 2, stderr) or a stream (tests, or one that shares stderr with a progress line). */
  destination?: number | (Writable & { isTTY?: boolean });
  /** Readable lines instead of JSON; default: when the destination is a terminal. */
  pretty?: boolean;
  /** Put in every line (`"name":"hub"`), to tell the hub's lines from a worker's in a shared log. */
  name?: string;
}

// pino and pino-pretty are loaded on first use, so that importing this file
// (for the types, or silentLogger in tests) or running `--help` costs nothing.
const require = createRequire(import.meta.url);

export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const pino = require('pino') as typeof import('pino');
  const destination = options.destination ?? 2;
  const toTerminal = typeof destination === 'number' ? isatty(destination) : destination.isTTY === true;
  const settings = { level: options.level ?? 'info', ...(options.name === undefined ? {} : { name: options.name }) };
  if (options.pretty ?? toTerminal) {
    const pretty = require('pino-pretty') as typeof import('pino-pretty');
    return pino(
      settings,
      pretty({
        destination,
        sync: true,
        colorize: toTerminal,
        translateTime: 'SYS:HH:MM:ss.l',
        // On a terminal the process is the one in front of you.
        ignore: 'pid,hostname',
      }),
    );
  }
  return pino(settings, typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination);
}

/** The hub's log before it took a Logger: one call per line. */
export type LineLog = (line: string) => void;

/**
 * A Logger that can also be called as a LineLog (at info). The hub's options
 * accept either kind and turn it into this, so code written against the old
 * `log(line)` keeps working for one release while it moves to `log.info(…)`.
 */
export type HubLogger = Logger & LineLog;

/** The text of an `err` field: its stack when it has one. */
function describeError(err: unknown): string {
  if (err === undefined) return '';
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

/**
 * A LineLog seen as a Logger. The old log had no levels below info and no
 * fields, so trace and debug are dropped and of the fields only `err` is kept
 * (the message carries the rest).
 */
export function lineLogger(write: LineLog, prefix = ''): Logger {
  const at =
    (label: string): LogFn =>
    (first: string | Record<string, unknown>, msg?: string) => {
      const text = typeof first === 'string' ? first : [msg, describeError(first.err)].filter(Boolean).join(': ');
      write(`${label}${prefix}${text}`);
    };
  return {
    trace: ignore,
    debug: ignore,
    info: at(''),
    warn: at('warning: '),
    error: at('error: '),
    child: (bindings) => lineLogger(write, `${prefix}${Object.values(bindings).join(' ')}: `),
  };
}

export function isLogger(value: unknown): value is Logger {
  const candidate = value as Partial<Logger> | null;
  // A HubLogger is a function with a Logger's methods, so functions are looked at too.
  if (candidate === null || (typeof candidate !== 'object' && typeof candidate !== 'function')) return false;
  return typeof candidate.info === 'function' && typeof candidate.child === 'function';
}

export function hubLogger(log: Logger | LineLog): HubLogger {
  const logger = isLogger(log) ? log : lineLogger(log);
  const call = (line: string): void => logger.info(line);
  return Object.assign(call, {
    trace: logger.trace.bind(logger),
    debug: logger.debug.bind(logger),
    info: logger.info.bind(logger),
    warn: logger.warn.bind(logger),
    error: logger.error.bind(logger),
    child: logger.child.bind(logger),
  });
}
