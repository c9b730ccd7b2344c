// PostgreSQL: what keeps a crawl one crawl across a fleet of hubs
// (server/crawl/sync.ts, docs/scale-out.md). The end of a crawl is decided on
// the database, not from one hub's memory: a crawl is over when no request of
// it is queued (a leased one stays queued until its result is recorded, by
// whichever hub holds it) and no source is pending.
import { statement, type Tx } from './group-commit.ts';

const S = {
  // One statement: the check and the write see the same snapshot, and a second hub's identical write changes nothing.
  endIfDrained: statement(
    'cs_end_if_drained',
    `UPDATE crawls SET status = 'finished', finish_reason = 'completed', finished_at = $2
     WHERE id = $1 AND status = 'running'
       AND NOT EXISTS (SELECT 1 FROM requests WHERE crawl_id = $1 AND state = 0)
       AND NOT EXISTS (SELECT 1 FROM crawl_sources WHERE crawl_id = $1 AND state = 0)`,
  ),
};

export async function endCrawlIfDrained(tx: Tx, crawlId: string, at: number): Promise<boolean> {
  return (await tx.run(S.endIfDrained, [crawlId, at])).rowCount === 1;
}
