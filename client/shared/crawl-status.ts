// A crawl's status as both pages name it (the contributor page's crawl list
// and the admin console's badges), so the two never disagree.
import type { CrawlStatus } from '../../shared/admin-api.ts';

export const CRAWL_STATUS_LABELS: Record<CrawlStatus, string> = {
  created: 'not started',
  running: 'running',
  paused: 'paused',
  finished: 'finished',
  cancelled: 'cancelled',
  failed: 'failed',
};
