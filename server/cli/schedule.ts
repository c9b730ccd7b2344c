// `crowdcrawl schedule ...`: a hub's schedules of saved specs (docs/operate.md).
import type { Command } from './command.ts';
import type { ScheduleInput, ScheduleList, ScheduleView } from '../../shared/ops-api.ts';
import { runAdminCommand, UsageError } from './admin-client.ts';
import { formatTable } from './status.ts';

const HELP = `usage: crowdcrawl schedule <list|add|pause|resume|run|delete> [ARG] [options]

  list                      the schedules, their next run and last run
  add SPEC_ID --cron EXPR --tz ZONE
                            runs the saved spec SPEC_ID (GET /api/specs, the console's
                            Specs page) at each time of the cron expression, read in ZONE
      --name NAME           (default: the saved spec's name)
      --overlap skip|queue  a run due while the last one goes is skipped (default) or queued
      --incremental         runs after the first fetch only what changed (docs/operate.md)
      --keep N              keep the last N runs' crawls, delete older ones (default 0: all)
      --paused              saved paused
  pause ID | resume ID      stop and start running it (missed times are not caught up)
  run ID                    run it once now
  delete ID                 delete it (the crawls it started stay)

  --hub URL       the hub (default: $CROWDCRAWL_HUB or http://127.0.0.1:8470)
  --token TOKEN   the admin token (default: $CROWDCRAWL_ADMIN_TOKEN or the hub's admin-token file)
  --json          print the admin API's JSON

exit codes: 0 ok, 1 failure, 2 bad command line or input (SCHEDULE_INVALID, unknown id)`;

const when = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().replace(/:\d\d\.\d+Z$/, 'Z'));

export function formatSchedules(list: ScheduleView[]): string {
  if (list.length === 0) return 'no schedules: add one with "crowdcrawl schedule add SPEC_ID --cron EXPR --tz ZONE"';
  const rows = list.map((s) => {
    const last = s.lastRuns[0];
    return [s.id, s.name, `${s.cron} (${s.timeZone})`, s.paused ? 'paused' : when(s.nextRunAt), last ? `${when(last.dueAt)} ${last.state}${last.crawlId ? ` ${last.crawlId}` : ''}` : '-'];
  });
  return formatTable(['ID', 'NAME', 'CRON', 'NEXT RUN', 'LAST RUN'], rows);
}

export const command: Command = {
  summary: 'list, add, pause, resume, run or delete schedules of saved specs',
  run: (argv) =>
    runAdminCommand(
      {
        name: 'schedule',
        help: HELP,
        options: {
          json: { type: 'boolean' },
          cron: { type: 'string' },
          tz: { type: 'string' },
          name: { type: 'string' },
          overlap: { type: 'string' },
          incremental: { type: 'boolean' },
          keep: { type: 'string' },
          paused: { type: 'boolean' },
        },
        positionals: { min: 1, max: 2, usage: 'give an action (list, add, pause, resume, run, delete) and its argument' },
      },
      argv,
      async ({ values, positionals, connect }) => {
        const [action, arg] = positionals as [string, string | undefined];
        const print = (value: unknown, text: string) => console.log(values.json ? JSON.stringify(value, null, 2) : text);
        if (action === 'list') {
          const list = await connect().call<ScheduleList>('GET', '/schedules');
          print(list, formatSchedules(list.schedules));
          return 0;
        }
        if (arg === undefined) throw new UsageError(`"schedule ${action}" needs an argument\n\n${HELP}`);
        const client = connect();
        const path = `/schedules/${encodeURIComponent(arg)}`;
        if (action === 'add') {
          if (values.cron === undefined || values.tz === undefined) throw new UsageError(`"schedule add" needs --cron and --tz\n\n${HELP}`);
          if (values.keep !== undefined && !/^\d+$/.test(values.keep)) throw new UsageError('--keep is a whole number');
          const body: ScheduleInput = {
            specId: arg,
            cron: values.cron,
            timeZone: values.tz,
            ...(values.name === undefined ? {} : { name: values.name }),
            ...(values.overlap === undefined ? {} : { overlap: values.overlap as ScheduleInput['overlap'] & string }),
            ...(values.incremental ? { incremental: true } : {}),
            ...(values.paused ? { paused: true } : {}),
            ...(values.keep === undefined ? {} : { keepRuns: Number(values.keep) }),
          };
          const s = await client.call<ScheduleView>('POST', '/schedules', body);
          print(s, `schedule ${s.id} saved; next run ${when(s.nextRunAt)}`);
        } else if (action === 'pause' || action === 'resume' || action === 'run') {
          const s = await client.call<ScheduleView>('POST', `${path}/${action}`);
          print(s, formatSchedules([s]));
        } else if (action === 'delete') {
          await client.call('DELETE', path);
          print({ deleted: arg }, `schedule ${arg} deleted`);
        } else {
          throw new UsageError(`unknown action "${action}"\n\n${HELP}`);
        }
        return 0;
      },
    ),
};
