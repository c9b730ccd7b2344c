// `crowdcrawl workers`: headless edge workers, N Chromium tabs of the hub's
// contributor page, until Ctrl-C. One progress line; Ctrl-C has every tab hand
// its leases back, then closes the browser.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Command } from './command.ts';
import { helloSchema } from '../../shared/protocol.ts';
import { BrowserNotFoundError, findChromium, HOW_TO_INSTALL_CHROMIUM } from '../browser/chromium.ts';
import { EdgeTabs, checkHub, type EdgeTabsStatus } from '../worker/edge-tabs.ts';
import { aboveProgressLine, ProgressLine } from './progress.ts';
import { workerToken } from './worker-token.ts';
import { createLogger, logLevelFrom } from '../log.ts';

const HELP = `usage: crowdcrawl workers [--hub URL] [--tabs N] [--name NAME] [--concurrency N] [--min-delay-ms MS] [--token TOKEN] [--log-level LEVEL]

Runs headless edge workers: Chromium tabs of the hub's contributor page, each a
full browser worker (the relay, DOMParser, the shared extraction engine). A tab
that crashes is reopened. Ctrl-C hands every lease back and exits.

  --hub URL          the hub (default: $CROWDCRAWL_HUB or http://127.0.0.1:8470)
  --tabs N           tabs to run (default 2)
  --name NAME        the nickname on the board (default: headless-<random>);
                     all tabs show as one contributor with N sessions
  --concurrency N    pages in flight per tab (default 4)
  --min-delay-ms MS  least time between two page starts in a tab (default 0)
  --client-id ID     the id all-time totals are kept under (default: one kept
                     in $CROWDCRAWL_DATA_DIR or ~/.crowdcrawl/edge-client-id)
  --token TOKEN      a worker token from the hub's operator (default:
                     $CROWDCRAWL_WORKER_TOKEN): the tabs' results are trusted
                     without checks; without one they are an ordinary,
                     untrusted contributor (docs/trust.md)
  --log-level LEVEL  trace, debug, info, warn, error or silent (default:
                     $CROWDCRAWL_LOG_LEVEL or info); tab crashes and browser
                     relaunches are logged on stderr, as JSON lines when it
                     is not a terminal

Chromium is found through $CROWDCRAWL_CHROMIUM, then Playwright's browsers,
then the system's (chromium, chrome).

exit codes: 0 stopped by Ctrl-C or SIGTERM, 1 failed (no browser, no hub, banned), 2 bad command line`;

const CLIENT_ID_FILE = 'edge-client-id';

/** The edge workers' lasting id, so a restarted `crowdcrawl workers --name X` adds to the same all-time totals. */
function edgeClientId(): string {
  const fresh = () => randomBytes(16).toString('base64url');
  const dir = process.env.CROWDCRAWL_DATA_DIR ?? join(homedir(), '.crowdcrawl');
  const file = join(dir, CLIENT_ID_FILE);
  try {
    if (existsSync(file)) {
      const stored = readFileSync(file, 'utf8').trim();
      if (helloSchema.shape.clientId.safeParse(stored).success) return stored;
    }
    const id = fresh();
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, `${id}\n`, { mode: 0o600 });
    return id;
  } catch {
    return fresh(); // a read-only home: totals then start anew with each run
  }
}

function wholeNumber(raw: string | undefined, fallback: number, min: number, max: number, flag: string): number {
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${flag} must be a whole number from ${min} to ${max}`);
  return value;
}

export function describeStatus(status: EdgeTabsStatus, pagesPerSecond: number): string {
  const states = Object.entries(status.states)
    .sort((a, b) => b[1] - a[1])
    .map(([state, n]) => (n === status.tabs ? state : `${n} ${state}`))
    .join(', ');
  return [
    `${status.open}/${status.tabs} tabs ${states}`,
    `${status.pages.toLocaleString('en-US')} pages`,
    `${status.items.toLocaleString('en-US')} items`,
    `${pagesPerSecond.toFixed(1)} pages/s`,
    `${status.failures} errors`,
    ...(status.restarts > 0 ? [`${status.restarts} restarts`] : []),
  ].join(' · ');
}

/** Pages per second over the last `windowMs`, from (time, pages) samples. */
export class RateMeter {
  private readonly samples: { at: number; pages: number }[] = [];
  private readonly windowMs: number;

  constructor(windowMs = 10_000) {
    this.windowMs = windowMs;
  }

  add(at: number, pages: number): number {
    this.samples.push({ at, pages });
    while (this.samples.length > 2 && at - this.samples[1]!.at >= this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const seconds = (at - first.at) / 1000;
    return seconds > 0 ? (pages - first.pages) / seconds : 0;
  }
}

export const command: Command = {
  summary: 'run headless Chromium tabs as edge workers for a hub',
  async run(argv) {
    let options;
    try {
      const { values } = parseArgs({
        args: argv,
        options: {
          hub: { type: 'string' },
          tabs: { type: 'string' },
          name: { type: 'string' },
          concurrency: { type: 'string' },
          'min-delay-ms': { type: 'string' },
          'client-id': { type: 'string' },
          token: { type: 'string' },
          'log-level': { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
      });
      if (values.help) {
        console.log(HELP);
        return 0;
      }
      const name = helloSchema.shape.name.safeParse(values.name ?? `headless-${randomBytes(2).toString('hex')}`);
      if (!name.success) throw new Error(`--name: ${name.error.issues[0]?.message ?? 'not a usable nickname'}`);
      const clientId = values['client-id'] ?? process.env.CROWDCRAWL_CLIENT_ID ?? edgeClientId();
      if (!helloSchema.shape.clientId.safeParse(clientId).success) throw new Error('--client-id: 16 to 64 characters of [A-Za-z0-9_-]');
      options = {
        hubUrl: values.hub ?? process.env.CROWDCRAWL_HUB ?? 'http://127.0.0.1:8470',
        tabs: wholeNumber(values.tabs, 2, 1, 64, 'tabs'),
        name: name.data,
        clientId,
        concurrency: wholeNumber(values.concurrency, 4, 1, 16, 'concurrency'),
        minDelayMs: wholeNumber(values['min-delay-ms'], 0, 0, 3_600_000, 'min-delay-ms'),
        ...workerToken(values.token),
        logLevel: logLevelFrom(values['log-level']),
      };
      new URL(options.hubUrl);
    } catch (error) {
      console.error(`crowdcrawl workers: ${(error as Error).message}\n\n${HELP}`);
      return 2;
    }

    try {
      if (!findChromium()) {
        console.error(`crowdcrawl workers: ${HOW_TO_INSTALL_CHROMIUM}`);
        return 1;
      }
    } catch (error) {
      if (error instanceof BrowserNotFoundError) {
        console.error(`crowdcrawl workers: ${error.message}`);
        return 1;
      }
      throw error;
    }
    try {
      await checkHub(options.hubUrl);
    } catch (error) {
      console.error(`crowdcrawl workers: ${(error as Error).message}`);
      return 1;
    }

    const progress = new ProgressLine(process.stderr);
    const log = createLogger({ level: options.logLevel, name: 'workers', destination: aboveProgressLine(process.stderr) });
    console.error(`crowdcrawl workers: ${options.tabs} tab(s) as "${options.name}" for ${options.hubUrl}; Ctrl-C to stop`);

    let stopRequested: (() => void) | undefined;
    let signals = 0;
    const onSignal = () => {
      signals++;
      if (signals > 1) {
        log.warn('stopping at once; leases still held go back when their time is up');
        process.exit(130);
      }
      stopRequested?.();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const stopped = new Promise<void>((resolve) => {
      stopRequested = resolve;
    });

    let edge: EdgeTabs;
    try {
      const { logLevel: _, ...tabOptions } = options;
      edge = await Promise.race([EdgeTabs.start({ ...tabOptions, log }), stopped.then(() => null)]).then((e) => {
        if (!e) throw new Error('stopped before the tabs started');
        return e;
      });
    } catch (error) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (signals > 0) return 0;
      console.error(`crowdcrawl workers: the tabs could not start: ${(error as Error).message.split('\n')[0]}`);
      return 1;
    }

    const meter = new RateMeter();
    let exitCode = 0;
    let polling = false;
    let last: EdgeTabsStatus | undefined;
    const poll = async () => {
      if (polling) return;
      polling = true;
      try {
        const status = await edge.status();
        last = status;
        progress.update(describeStatus(status, meter.add(Date.now(), status.pages)));
        if (status.fatal) {
          exitCode = 1;
          progress.done();
          console.error(`crowdcrawl workers: the hub turned these workers away: ${status.fatal.message}`);
          stopRequested?.();
        }
      } finally {
        polling = false;
      }
    };
    const timer = setInterval(() => void poll(), 1000);
    await poll();
    await stopped;
    clearInterval(timer);
    if (exitCode === 0) log.info('stopping: the tabs hand their leases back');
    await poll().catch(() => undefined);
    await edge.stop();
    if (exitCode === 0) {
      progress.done();
      if (last) console.error(`crowdcrawl workers: stopped after ${last.pages} pages, ${last.items} items, ${last.failures} errors`);
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    return exitCode;
  },
};
