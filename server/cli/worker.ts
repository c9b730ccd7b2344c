// `crowdcrawl worker`: a Node worker that crawls for a hub until Ctrl-C.
import { parseArgs } from 'node:util';
import type { Command } from './command.ts';
import { startNodeWorker } from '../worker/node-worker.ts';
import { aboveProgressLine, ProgressLine } from './progress.ts';
import { createLogger, logLevelFrom, type LogLevel, type Logger } from '../log.ts';
import type { WorkerLoop } from '../../shared/worker/loop.ts';
import { checkNickname } from '../../shared/names.ts';
import { workerToken } from './worker-token.ts';

const HELP = `usage: crowdcrawl worker [--hub URL] [--concurrency N] [--name NAME] [--min-delay-ms MS] [--token TOKEN] [--log-level LEVEL]

Connects to a hub and crawls: takes leases, fetches each page through the hub's
relay, extracts with cheerio and sends the results back. Ctrl-C hands every
lease back and exits.

  --hub URL          the hub (default: $CROWDCRAWL_HUB or http://127.0.0.1:8470)
  --concurrency N    pages in flight at once (default 4)
  --name NAME        the name shown on the contributor page (default: node-<random>)
  --min-delay-ms MS  least time between two page starts (default 0)
  --token TOKEN      a worker token from the hub's operator (default:
                     $CROWDCRAWL_WORKER_TOKEN): results are trusted without
                     checks; without one this is an ordinary, untrusted
                     contributor (docs/trust.md)
  --log-level LEVEL  trace, debug, info, warn, error or silent (default:
                     $CROWDCRAWL_LOG_LEVEL or info); connections to the hub
                     are logged on stderr, as JSON lines when it is not a
                     terminal`;

/** Logs the loop's connection to the hub: made, lost (with why), and at debug every change of state. */
function logStates(loop: WorkerLoop, hubUrl: string, log: Logger): void {
  let previous = loop.state;
  loop.onChange(() => {
    if (loop.state === previous) return;
    const from = previous;
    previous = loop.state;
    if (loop.state === 'connecting') {
      log.warn({ code: loop.lastError?.code }, `lost the hub (${loop.lastError?.message ?? 'disconnected'}); reconnecting`);
    } else if (from === 'connecting' && (loop.state === 'working' || loop.state === 'idle' || loop.state === 'paused')) {
      // The hub may show the worker under another name than asked ("alice (2)": docs/volunteers.md).
      log.info(`connected to ${hubUrl} as "${loop.welcome?.name ?? ''}"`);
    } else {
      log.debug(`${from} → ${loop.state}`);
    }
  });
}

export const command: Command = {
  summary: 'run a Node worker (cheerio) for a hub',
  async run(argv) {
    let values;
    try {
      ({ values } = parseArgs({
        args: argv,
        options: {
          hub: { type: 'string' },
          concurrency: { type: 'string' },
          name: { type: 'string' },
          'min-delay-ms': { type: 'string' },
          token: { type: 'string' },
          'log-level': { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
      }));
    } catch (error) {
      console.error(`crowdcrawl worker: ${(error as Error).message}\n\n${HELP}`);
      return 2;
    }
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const hubUrl = values.hub ?? process.env.CROWDCRAWL_HUB ?? 'http://127.0.0.1:8470';
    const concurrency = Number(values.concurrency ?? 4);
    const minDelayMs = Number(values['min-delay-ms'] ?? 0);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) {
      console.error('crowdcrawl worker: --concurrency must be a whole number from 1 to 256');
      return 2;
    }
    if (!Number.isFinite(minDelayMs) || minDelayMs < 0) {
      console.error('crowdcrawl worker: --min-delay-ms must be 0 or more');
      return 2;
    }
    const name = values.name === undefined ? undefined : checkNickname(values.name);
    if (name && !name.ok) {
      console.error(`crowdcrawl worker: --name: ${name.message}`);
      return 2;
    }
    let logLevel: LogLevel;
    try {
      logLevel = logLevelFrom(values['log-level']);
    } catch (error) {
      console.error(`crowdcrawl worker: ${(error as Error).message}`);
      return 2;
    }
    let token: { token?: string };
    try {
      token = workerToken(values.token);
    } catch (error) {
      console.error(`crowdcrawl worker: ${(error as Error).message}`);
      return 2;
    }
    const worker = startNodeWorker({ hubUrl, concurrency, minDelayMs, ...token, ...(name?.ok ? { name: name.name } : {}) });
    const progress = new ProgressLine(process.stderr);
    logStates(worker.loop, hubUrl, createLogger({ level: logLevel, name: 'worker', destination: aboveProgressLine(process.stderr) }));
    const started = Date.now();
    const render = () => {
      const { pages, items, failures } = worker.loop.stats;
      const seconds = (Date.now() - started) / 1000;
      const state = worker.loop.state === 'connecting' && worker.loop.lastError ? `connecting (${worker.loop.lastError.message})` : worker.loop.state;
      progress.update(`${state} · ${pages} pages · ${items} items · ${(pages / Math.max(seconds, 1)).toFixed(1)} pages/s · ${failures} errors`);
    };
    const timer = setInterval(render, 1000);
    worker.loop.onChange((loop) => {
      if (loop.state === 'outdated' || loop.state === 'banned') render();
    });
    const stopped = new Promise<number>((resolve) => {
      const stop = async () => {
        clearInterval(timer);
        await worker.stop();
        render();
        progress.done();
        resolve(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      worker.loop.onChange((loop) => {
        if (loop.state === 'outdated' || loop.state === 'banned') {
          clearInterval(timer);
          progress.done();
          console.error(`crowdcrawl worker: ${loop.lastError?.message ?? loop.state}`);
          resolve(1);
        }
      });
    });
    return stopped;
  },
};
