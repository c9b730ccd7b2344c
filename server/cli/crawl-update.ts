// `crowdcrawl crawl update ID SPEC.json`: pushes a new spec version to a
// running crawl (PUT /api/crawls/ID/spec). Workers switch to it at once;
// pages leased before are answered under the version they were leased with.
import type { SpecUpdated } from '../../shared/admin-api.ts';
import { parseSpec } from '../../shared/spec/schema.ts';
import { AdminClientError, resolveHubUrl, runAdminCommand } from './admin-client.ts';

export const UPDATE_HELP = `usage: crowdcrawl crawl update ID SPEC.json [--hub URL] [--token TOKEN]

Pushes a new version of a running (or paused) crawl's spec, from a JSON file
(or - for stdin). Leave "version" out and the hub takes the next one; give one
and it must be above the crawl's current version. Every connected worker gets
the new version at once; pages already leased are finished under the version
they were leased with. Queued URLs the new follow rules or maxDepth no longer
allow are dropped (skipped with SPEC_DROPPED) and counted. Prints the new
version on stdout.

  --hub URL       the hub (default: $CROWDCRAWL_HUB or http://127.0.0.1:8470)
  --token TOKEN   the admin token (default: $CROWDCRAWL_ADMIN_TOKEN, or for a hub
                  on this machine the admin-token file in its data dir)

exit codes: 0 ok, 1 failure (hub unreachable, token refused, crawl ended,
version not above the current one), 2 bad command line or invalid spec`;

/** `readSpecFile` is crawl.ts's (it loads this module: no import circle). */
export function runUpdate(argv: string[], readSpecFile: (path: string) => unknown): Promise<number> {
  return runAdminCommand(
    { name: 'crawl update', help: UPDATE_HELP, options: {}, positionals: { min: 2, max: 2, usage: 'give a crawl id and one spec file' } },
    argv,
    async ({ values, positionals, connect }) => {
      const hubUrl = resolveHubUrl(values.hub);
      const [id, file] = positionals as [string, string];
      const specInput = readSpecFile(file);
      const checked = parseSpec(specInput);
      if (!checked.ok) throw new AdminClientError('SPEC_INVALID', 'the spec is invalid', undefined, checked.issues);
      const updated: SpecUpdated = await connect(hubUrl).updateSpec(id, specInput);
      console.log(updated.version);
      console.error(`crawl ${id} now runs spec version ${updated.version}; ${updated.dropped} queued URL(s) its rules no longer allow were dropped`);
      return 0;
    },
  );
}
