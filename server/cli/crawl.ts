// `crowdcrawl crawl SPEC.json`: creates a crawl on a hub from a spec file,
// prints its id, and with --wait follows it until it ends.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from './command.ts';
import { parseSpec } from '../../shared/spec/schema.ts';
import type { CrawlDetail } from '../../shared/admin-api.ts';
import { AdminClient, AdminClientError, resolveHubUrl, runAdminCommand, UsageError } from './admin-client.ts';
import { ProgressLine } from './progress.ts';

const HELP = `usage: crowdcrawl crawl SPEC.json [--hub URL] [--token TOKEN] [--paused] [--wait]
       crowdcrawl crawl update ID SPEC.json   (a new spec version for a running crawl; --help for more)

Creates a crawl on a hub from a spider spec (a JSON file, or - for stdin) and
prints the crawl's id on stdout. The spec is checked first: every problem is
printed as "path: message" and the exit code is 2.

  --hub URL       the hub (default: $CROWDCRAWL_HUB or http://127.0.0.1:8470)
  --token TOKEN   the admin token (default: $CROWDCRAWL_ADMIN_TOKEN, or for a hub
                  on this machine the admin-token file in its data dir)
  --paused        create the crawl without starting it (start it later from the
                  admin console or with POST /api/crawls/ID/start)
  --wait          follow the crawl's progress on stderr until it ends; the exit
                  code is then 0 when it finished, 1 when it was cancelled or failed
  --poll-ms MS    how often --wait asks the hub (default 1000)

exit codes: 0 ok, 1 failure (hub unreachable, token refused, crawl cancelled),
2 bad command line or invalid spec`;

/** Consecutive failed polls after which --wait gives up on the hub. */
const MAX_POLL_FAILURES = 10;

function readSpecFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${path === '-' ? 'the spec from stdin' : `"${path}"`}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`${path === '-' ? 'stdin' : path} is not valid JSON: ${(error as Error).message}`);
  }
}

export function progressText(crawl: CrawlDetail, elapsedMs: number): string {
  const parts = [
    crawl.status,
    `${crawl.pagesDone} pages`,
    `${crawl.items} items`,
    `${crawl.pagesFailed} failed`,
    `${crawl.queued} queued`,
    `${crawl.inFlight} in flight`,
    `${Math.round(elapsedMs / 1000)}s`,
  ];
  return `${crawl.name} ${crawl.id}: ${parts.join(' · ')}`;
}

function isEnded(status: string): boolean {
  return status === 'finished' || status === 'cancelled' || status === 'failed';
}

async function follow(client: AdminClient, id: string, pollMs: number): Promise<number> {
  const progress = new ProgressLine(process.stderr, 5000);
  const started = Date.now();
  let failures = 0;
  for (;;) {
    let crawl: CrawlDetail;
    try {
      crawl = await client.getCrawl(id);
      failures = 0;
    } catch (error) {
      // A hub restarting briefly is no reason to stop following; one that stays away is.
      if (!(error instanceof AdminClientError) || error.code !== 'HUB_UNREACHABLE' || ++failures >= MAX_POLL_FAILURES) {
        progress.done();
        throw error;
      }
      await sleep(pollMs);
      continue;
    }
    progress.update(progressText(crawl, Date.now() - started));
    if (isEnded(crawl.status)) {
      progress.done();
      const why = crawl.finishReason ? ` (${crawl.finishReason})` : '';
      console.error(`crawl ${id} ${crawl.status}${why}: ${crawl.pagesDone} pages, ${crawl.items} items, ${crawl.pagesFailed} failed`);
      return crawl.status === 'finished' ? 0 : 1;
    }
    await sleep(pollMs);
  }
}

export const command: Command = {
  summary: 'create a crawl from a spec file (and follow it with --wait); crawl update: push a new spec version',
  // `crawl update ID SPEC.json` (a spec file named "update" is ./update).
  run: async (argv) => argv[0] === 'update' ? (await import('./crawl-update.ts')).runUpdate(argv.slice(1), readSpecFile) : runAdminCommand(
      {
        name: 'crawl',
        help: HELP,
        options: { wait: { type: 'boolean' }, paused: { type: 'boolean' }, 'poll-ms': { type: 'string' } },
        positionals: { min: 1, max: 1, usage: 'give exactly one spec file' },
      },
      argv,
      async ({ values, positionals, connect }) => {
        const pollMs = Number(values['poll-ms'] ?? 1000);
        if (!Number.isInteger(pollMs) || pollMs < 50 || pollMs > 600_000) throw new UsageError('--poll-ms must be a whole number from 50 to 600000');
        // A bad --hub is reported before a bad spec file, as the options come first.
        const hubUrl = resolveHubUrl(values.hub);
        const specInput = readSpecFile(positionals[0]!);
        // Checked here too, so a broken spec is reported even when the hub is not reachable.
        const checked = parseSpec(specInput);
        if (!checked.ok) throw new AdminClientError('SPEC_INVALID', 'the spec is invalid', undefined, checked.issues);

        const client = connect(hubUrl);
        const crawl = await client.createCrawl(specInput, { start: !values.paused });
        console.log(crawl.id);
        console.error(`created crawl ${crawl.id} (${crawl.name}), ${crawl.status}; see it with: crowdcrawl status ${crawl.id}`);
        if (!values.wait) return 0;

        const stopWaiting = () => {
          console.error(`\nstopped waiting; the crawl goes on (crowdcrawl status ${crawl.id})`);
          process.exit(130);
        };
        process.once('SIGINT', stopWaiting);
        try {
          return await follow(client, crawl.id, pollMs);
        } finally {
          process.off('SIGINT', stopWaiting);
        }
      },
    ),
};
