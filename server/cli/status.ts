// `crowdcrawl status [ID]`: a table of a hub's crawls, or one crawl's details
// (counts, limits, and its errors grouped by code and host).
import type { Command } from './command.ts';
import type { CrawlDetail, CrawlSummary, HubList, HubStats } from '../../shared/admin-api.ts';
import { runAdminCommand } from './admin-client.ts';

const HELP = `usage: crowdcrawl status [ID] [--hub URL] [--token TOKEN] [--json]

Without ID: the fleet's hubs (one on SQLite), the hub's totals and a table of
its crawls, newest first.
With ID: that crawl's details, its page counts and its errors by code and host.

  --hub URL       the hub (default: $CROWDCRAWL_HUB or http://127.0.0.1:8470)
  --token TOKEN   the admin token (default: $CROWDCRAWL_ADMIN_TOKEN, or for a hub
                  on this machine the admin-token file in its data dir)
  --json          print the admin API's JSON instead of text

exit codes: 0 ok, 1 failure (hub unreachable, token refused), 2 bad command line or unknown ID`;

/** Renders rows as columns separated by two spaces; numbers are right-aligned. */
export function formatTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((row) => row.map(String))];
  const numeric = header.map((_, col) => rows.length > 0 && rows.every((row) => typeof row[col] === 'number'));
  const widths = header.map((_, col) => Math.max(...cells.map((row) => (row[col] ?? '').length)));
  return cells
    .map((row) => row.map((cell, col) => (numeric[col] ? cell.padStart(widths[col]!) : cell.padEnd(widths[col]!))).join('  ').trimEnd())
    .join('\n');
}

function ago(ms: number | null, now = Date.now()): string {
  if (ms === null) return '-';
  const seconds = Math.max(0, Math.round((now - ms) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}

function duration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
}

function statusText(crawl: CrawlSummary): string {
  return crawl.finishReason && crawl.finishReason !== crawl.status ? `${crawl.status} (${crawl.finishReason})` : crawl.status;
}

export function formatCrawlList(stats: HubStats, crawls: CrawlSummary[]): string {
  const w = stats.workers;
  const lines = [
    `workers: ${w.connected} connected (${Object.entries(w.byKind).map(([kind, n]) => `${n} ${kind}`).join(', ')}), ${stats.leasesInFlight} leases in flight`,
    `pages: ${stats.pagesDone} done, ${stats.pagesFailed} failed; ${stats.items} items`,
    '',
  ];
  if (crawls.length === 0) {
    lines.push('no crawls yet: create one with "crowdcrawl crawl SPEC.json"');
    return lines.join('\n');
  }
  const header = ['ID', 'NAME', 'STATUS', 'PAGES', 'ITEMS', 'FAILED', 'QUEUED', 'IN FLIGHT', 'CREATED'];
  const rows = crawls.map((c) => [c.id, c.name, statusText(c), c.pagesDone, c.items, c.pagesFailed, c.queued, c.inFlight, ago(c.createdAt)]);
  lines.push(formatTable(header, rows));
  return lines.join('\n');
}

/** The fleet of hubs sharing the database (one line per hub; a SQLite hub is a fleet of one). */
export function formatHubs(list: HubList, now = Date.now()): string {
  const lines: string[] = [];
  const down = list.storage.unavailableSince;
  if (down !== null) lines.push(`database: UNREACHABLE since ${ago(down, now)} (${list.storage.code}); no leases are granted until it is back`);
  const header = ['HUB', 'ADDRESS', 'VERSION', 'STATE', 'WORKERS', 'LEASES', 'PAGES/S', 'HEARTBEAT'];
  const rows = list.hubs.map((h) => [
    h.self ? `${h.id} (this)` : h.id,
    h.address,
    h.version,
    h.alive ? 'alive' : 'gone',
    h.workers,
    h.leases,
    h.pagesPerSec,
    ago(h.heartbeatAt, now),
  ]);
  lines.push(formatTable(header, rows));
  return lines.join('\n');
}

export function formatCrawlDetail(crawl: CrawlDetail, now = Date.now()): string {
  const limits = crawl.spec.limits;
  const ran = crawl.startedAt === null ? null : (crawl.finishedAt ?? now) - crawl.startedAt;
  const lines = [
    `crawl     ${crawl.id}`,
    `name      ${crawl.name} (spec version ${crawl.specVersion})`,
    `status    ${statusText(crawl)}`,
    `created   ${new Date(crawl.createdAt).toISOString()} (${ago(crawl.createdAt, now)})`,
    `ran for   ${ran === null ? 'not started' : duration(ran)}`,
    `pages     ${crawl.pagesDone} done, ${crawl.pagesFailed} failed, ${crawl.pagesSkipped} skipped, ${crawl.queued} queued, ${crawl.inFlight} in flight`,
    `items     ${crawl.items}`,
    `limits    ${[
      limits.maxPages === undefined ? null : `${limits.maxPages} pages`,
      limits.maxDepth === undefined ? null : `depth ${limits.maxDepth}`,
      limits.maxDurationMs === undefined ? null : duration(limits.maxDurationMs),
    ].filter(Boolean).join(', ') || 'none'}`,
  ];
  if (crawl.errors.length > 0) {
    lines.push('', 'errors (failed and skipped pages):');
    lines.push(formatTable(['COUNT', 'CODE', 'HOST', 'EXAMPLE'], crawl.errors.map((e) => [e.count, e.code ?? '-', e.host, e.exampleUrl])));
  }
  return lines.join('\n');
}

export const command: Command = {
  summary: "show a hub's crawls, or one crawl's details",
  run: (argv) =>
    runAdminCommand(
      {
        name: 'status',
        help: HELP,
        options: { json: { type: 'boolean' } },
        positionals: { min: 0, max: 1, usage: 'give at most one crawl id' },
      },
      argv,
      async ({ values, positionals, connect }) => {
        const client = connect();
        const id = positionals[0];
        if (id !== undefined) {
          const crawl = await client.getCrawl(id);
          console.log(values.json ? JSON.stringify(crawl, null, 2) : formatCrawlDetail(crawl));
        } else {
          const [stats, crawls, hubs] = await Promise.all([client.stats(), client.listCrawls(), client.hubs()]);
          console.log(values.json ? JSON.stringify({ stats, hubs, crawls }, null, 2) : `${formatHubs(hubs)}\n\n${formatCrawlList(stats, crawls)}`);
        }
        return 0;
      },
    ),
};
