// `crowdcrawl demo` (`npm run demo`): the whole loop on one machine, unattended.
// A hub, the local quotes fixture site, the quotes crawl of the Scrapy tutorial
// (quotes and their authors), two headless Chromium tabs and one Node worker;
// a progress bar; then the results exported as JSON Lines and a summary.
import { createWriteStream, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import type { Command } from './command.ts';
import { startHub, type Hub } from '../app.ts';
import { exportStreams } from '../export/export.ts';
import { startNodeWorker, type NodeWorker } from '../worker/node-worker.ts';
import { EdgeTabs } from '../worker/edge-tabs.ts';
import { BrowserNotFoundError, findChromium, HOW_TO_INSTALL_CHROMIUM } from '../browser/chromium.ts';
import { clientBuildIsStale, ensureClientBuilt } from './client-build.ts';
import { ProgressLine } from './progress.ts';
import { quotesSite } from '../../test/fixtures/site/quotes.ts';
import { startFixtureServer, type FixtureServer } from '../../test/fixtures/site/server.ts';
import { lineLogger } from '../log.ts';

const HELP = `usage: crowdcrawl demo [--pages N] [--tabs N] [--port N] [--data-dir DIR] [--out FILE] [--pace-ms MS] [--keep-open]

Runs the whole crowdcrawl loop on this machine: a hub, a local copy of the
quotes site, a crawl of its quotes and authors, two headless Chromium tabs and
one Node worker. Prints the contributor page's URL first (open it to watch the
board), a progress bar, then where the exported results are.

  --pages N      pages of quotes on the local site (default 100)
  --tabs N       headless Chromium tabs (default 2; 0 for the Node worker only)
  --port N       the hub's port (default 8470, or a free one when that is taken)
  --data-dir DIR where the hub keeps its database (default: a new temporary dir)
  --out FILE     the JSON Lines export (default: DIR/quotes.jsonl)
  --pace-ms MS   least time between two requests to the site (default 40, so a
                 person can watch; 0 for full speed)
  --keep-open    leave the hub running after the crawl, until Ctrl-C`;

/** The quotes crawl of the Scrapy tutorial: every quote (text, author, tags) and every author quoted. */
export function demoSpec(origin: string, paceMs: number) {
  return {
    name: 'quotes',
    startUrls: [`${origin}/page/1/`],
    items: [
      {
        type: 'quote',
        selector: 'div.quote',
        urlPatterns: [{ regex: '/page/\\d+/$' }],
        fields: {
          text: 'span.text::text',
          author: 'small.author::text',
          tags: { selector: 'div.tags a.tag::text', all: true },
        },
      },
      {
        type: 'author',
        selector: 'div.author-details',
        urlPatterns: [{ regex: '/author/[^/]+/?$' }],
        fields: {
          name: { selector: 'h3.author-title::text', process: ['trim'] },
          born: 'span.author-born-date::text',
          bornLocation: 'span.author-born-location::text',
        },
      },
    ],
    follow: [{ selector: 'li.next a' }, { selector: 'div.quote a[href^="/author/"]' }],
    politeness: { obeyRobotsTxt: false, perHostConcurrency: 8, perHostDelayMs: paceMs },
  };
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once('error', () => done(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => done(true)));
  });
}

function bar(fraction: number, width = 24): string {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]`;
}

const n = (x: number) => x.toLocaleString('en-US');

interface DemoArgs {
  pages: number;
  tabs: number;
  port: number | undefined;
  dataDir: string | undefined;
  out: string | undefined;
  paceMs: number;
  keepOpen: boolean;
}

function parse(argv: string[]): DemoArgs | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      pages: { type: 'string' },
      tabs: { type: 'string' },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      out: { type: 'string' },
      'pace-ms': { type: 'string' },
      'keep-open': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const int = (raw: string | undefined, fallback: number, min: number, max: number, flag: string) => {
    const value = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${flag} must be a whole number from ${min} to ${max}`);
    return value;
  };
  return {
    pages: int(values.pages, 100, 1, 10_000, 'pages'),
    tabs: int(values.tabs, 2, 0, 16, 'tabs'),
    port: values.port === undefined ? undefined : int(values.port, 0, 0, 65535, 'port'),
    dataDir: values['data-dir'],
    out: values.out,
    paceMs: int(values['pace-ms'], 40, 0, 10_000, 'pace-ms'),
    keepOpen: values['keep-open'] ?? false,
  };
}

export const command: Command = {
  summary: 'run the whole loop locally: hub, quotes site, tabs and a worker, then export',
  async run(argv) {
    let args: DemoArgs | 'help';
    try {
      args = parse(argv);
    } catch (error) {
      console.error(`crowdcrawl demo: ${(error as Error).message}\n\n${HELP}`);
      return 2;
    }
    if (args === 'help') {
      console.log(HELP);
      return 0;
    }

    let tabs = args.tabs;
    if (tabs > 0) {
      let found = null;
      try {
        found = findChromium();
      } catch (error) {
        if (!(error instanceof BrowserNotFoundError)) throw error;
        console.error(`crowdcrawl demo: ${error.message}`);
      }
      if (!found) {
        console.error(`crowdcrawl demo: ${HOW_TO_INSTALL_CHROMIUM}\n(the demo goes on with the Node worker only)\n`);
        tabs = 0;
      }
    }
    if (tabs > 0 && clientBuildIsStale()) {
      console.log('building the contributor page (client/dist)…');
      if (!(await ensureClientBuilt((line) => console.error(`crowdcrawl demo: ${line}`)))) {
        console.error('crowdcrawl demo: going on with the Node worker only');
        tabs = 0;
      }
    }

    const dataDir = resolve(args.dataDir ?? mkdtempSync(join(tmpdir(), 'crowdcrawl-demo-')));
    const outFile = resolve(args.out ?? join(dataDir, 'quotes.jsonl'));
    const port = args.port ?? ((await portIsFree(8470)) ? 8470 : 0);
    const adminToken = randomBytes(18).toString('base64url');
    const hubLog: string[] = [];

    let site: FixtureServer | undefined;
    let hub: Hub | undefined;
    let edge: EdgeTabs | undefined;
    let node: NodeWorker | undefined;
    let interrupted = false;
    let expectedPages = 0;
    let wake: (() => void) | undefined;
    const onSignal = () => {
      interrupted = true;
      wake?.();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const progress = new ProgressLine(process.stdout, 2000);

    try {
      const quotes = quotesSite({ pages: args.pages });
      // The demo knows its site: every quotes page and every author's page.
      expectedPages = args.pages + quotes.authors.length;
      site = await startFixtureServer(quotes);
      hub = await startHub({
        port,
        host: '127.0.0.1',
        dataDir,
        adminToken,
        allowHosts: ['127.0.0.1'],
        log: (line) => hubLog.push(line),
      });
      console.log('crowdcrawl demo: a hub, a local quotes site, and workers crawling it together.\n');
      console.log(`  contributor page  ${hub.url}/   <- open it to watch the board`);
      console.log(`  admin console     ${hub.url}/admin   (token ${adminToken})`);
      console.log(`  quotes site       ${site.origin}/   (${args.pages} pages, served locally)`);
      console.log(`  data              ${dataDir}\n`);

      const workerNames: string[] = [];
      node = startNodeWorker({ hubUrl: hub.url, name: 'demo-node', concurrency: 4 });
      workerNames.push('1 Node worker ("demo-node")');
      if (tabs > 0) {
        edge = await EdgeTabs.start({
          hubUrl: hub.url,
          tabs,
          name: 'demo-tabs',
          clientId: randomBytes(16).toString('base64url'),
          concurrency: 4,
          log: lineLogger((line) => console.error(`crowdcrawl demo: ${line}`)),
        });
        workerNames.unshift(`${tabs} headless Chromium tab${tabs > 1 ? 's' : ''} ("demo-tabs")`);
      }
      await node.ready();
      console.log(`workers: ${workerNames.join(' and ')}`);

      const crawl = await hub.engine.createCrawl(demoSpec(site.origin, args.paceMs));
      const startedAt = Date.now();
      console.log(`crawling the quotes site (crawl ${crawl.id})`);
      const deadline = startedAt + 10 * 60_000;
      const showProgress = () => {
        const summary = crawl.summary();
        const target = Math.max(expectedPages, summary.pagesDone + summary.pagesFailed + summary.queued + summary.inFlight);
        const seconds = (Date.now() - startedAt) / 1000;
        const working = new Set([...hub!.engine.workers.all()].filter((w) => w.pagesDone > 0).map((w) => w.name)).size;
        progress.update(
          `${bar(target ? (summary.pagesDone + summary.pagesFailed) / target : 0)} ${n(summary.pagesDone)}/${n(target)} pages · ${n(summary.items)} items · ${working} contributors · ${(summary.pagesDone / Math.max(seconds, 0.001)).toFixed(1)} pages/s`,
        );
      };
      while (crawl.status === 'running' && !interrupted && Date.now() < deadline) {
        showProgress();
        await new Promise<void>((done) => {
          wake = done;
          setTimeout(done, 200);
        });
      }
      showProgress();
      progress.done();
      if (interrupted) {
        console.error('crowdcrawl demo: interrupted');
        return 130;
      }
      if (crawl.status === 'running') {
        console.error(`crowdcrawl demo: the crawl did not finish within 10 minutes: ${JSON.stringify(crawl.summary())}`);
        if (hubLog.length > 0) console.error(hubLog.slice(-20).join('\n'));
        return 1;
      }

      const seconds = (Date.now() - startedAt) / 1000;
      const byName = new Map<string, { kind: string; sessions: number; pages: number }>();
      for (const worker of hub.engine.workers.all()) {
        const entry = byName.get(worker.name) ?? { kind: worker.kind, sessions: 0, pages: 0 };
        entry.sessions++;
        entry.pages += worker.pagesDone;
        byName.set(worker.name, entry);
      }
      await edge?.stop();
      edge = undefined;
      await node.stop();
      node = undefined;

      const summary = crawl.summary();
      const counts = { quote: 0, author: 0 } as Record<string, number>;
      for await (const item of hub.storage.iterateItems(crawl.id)) counts[item.type] = (counts[item.type] ?? 0) + 1;
      await pipeline([...exportStreams(hub.storage, crawl, 'jsonl'), createWriteStream(outFile)]);

      console.log(
        `\n${summary.status === 'finished' ? 'finished' : summary.status} in ${seconds.toFixed(1)} s: ${n(summary.pagesDone)} pages, ${n(summary.items)} items (${n(counts.quote ?? 0)} quotes, ${n(counts.author ?? 0)} authors), ${n(summary.pagesFailed)} failed`,
      );
      console.log(`contributors: ${byName.size}`);
      for (const [name, c] of [...byName].sort((a, b) => b[1].pages - a[1].pages)) {
        console.log(`  ${name.padEnd(12)} ${`${c.kind}${c.sessions > 1 ? ` ×${c.sessions}` : ''}`.padEnd(12)} ${n(c.pages).padStart(6)} pages`);
      }
      console.log(`results: ${outFile}`);
      console.log(`         ${n(summary.items)} lines, one item each: {"url", "type", "data": {...}, "specVersion", "extractedAt"}`);

      if (args.keepOpen) {
        console.log(`\nthe hub stays up at ${hub.url}/ (admin: ${hub.url}/admin); Ctrl-C to stop`);
        await new Promise<void>((done) => {
          wake = done;
          if (interrupted) done();
        });
      }
      return 0;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await edge?.stop().catch(() => undefined);
      await node?.stop().catch(() => undefined);
      await hub?.close().catch(() => undefined);
      await site?.close().catch(() => undefined);
    }
  },
};
