// What the admin API's operations routes answer (docs/operate.md): schedules
// of saved specs with their next and last runs, webhooks and their
// deliveries. The console, the CLI and the hub share these types.

export type OverlapPolicy = 'skip' | 'queue';
export type ScheduleRunState = 'claimed' | 'started' | 'skipped' | 'queued' | 'failed';
export type WebhookEvent = 'crawl.started' | 'crawl.finished' | 'crawl.cancelled' | 'crawl.failed';
export const WEBHOOK_EVENT_NAMES: readonly WebhookEvent[] = ['crawl.started', 'crawl.finished', 'crawl.cancelled', 'crawl.failed'];
export type DeliveryState = 'pending' | 'delivered' | 'failed';

export interface ScheduleRunView {
  /** The occurrence of the cron expression (epoch ms). */
  dueAt: number;
  state: ScheduleRunState;
  crawlId: string | null;
  message: string | null;
  startedAt: number | null;
}

export interface ScheduleView {
  id: string;
  name: string;
  specId: string;
  /** The saved spec's name, or null when it was deleted (runs then fail). */
  specName: string | null;
  cron: string;
  timeZone: string;
  overlap: OverlapPolicy;
  paused: boolean;
  incremental: boolean;
  keepRuns: number;
  /** When it runs next (epoch ms); null while paused or when the expression has no next time. */
  nextRunAt: number | null;
  /** The latest runs, the latest first. */
  lastRuns: ScheduleRunView[];
  createdAt: number;
  updatedAt: number;
}

export interface ScheduleList {
  schedules: ScheduleView[];
}

/** POST /api/schedules (all but specId and cron have defaults); PATCH takes any subset. */
export interface ScheduleInput {
  name?: string;
  specId: string;
  cron: string;
  timeZone?: string;
  overlap?: OverlapPolicy;
  paused?: boolean;
  incremental?: boolean;
  keepRuns?: number;
}

export interface WebhookView {
  id: string;
  url: string;
  specName: string | null;
  events: WebhookEvent[];
  enabled: boolean;
  createdAt: number;
  /** Only in the answer to POST /api/webhooks: the signing secret, shown once. */
  secret?: string;
}

export interface WebhookList {
  webhooks: WebhookView[];
}

export interface WebhookInput {
  url: string;
  specName?: string | null;
  events?: WebhookEvent[];
  enabled?: boolean;
}

export interface DeliveryView {
  id: string;
  webhookId: string;
  crawlId: string;
  event: WebhookEvent;
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: number | null;
  lastStatus: number | null;
  lastLatencyMs: number | null;
  lastError: string | null;
  createdAt: number;
  deliveredAt: number | null;
}

export interface DeliveryList {
  deliveries: DeliveryView[];
}

/** The JSON body POSTed to a webhook. */
export interface WebhookPayload {
  /** The delivery's id: the same on every retry, so a receiver can drop repeats. */
  id: string;
  event: WebhookEvent;
  /** When the event happened (ISO 8601). */
  occurredAt: string;
  crawl: {
    id: string;
    name: string;
    status: string;
    finishReason: string | null;
    specVersion: number;
    createdAt: number;
    startedAt: number | null;
    finishedAt: number | null;
  };
  counts: { pagesDone: number; pagesFailed: number; pagesSkipped: number; items: number };
  /** Where the crawl's items can be downloaded (the admin token is needed). */
  export: { jsonl: string; json: string; csv: string };
}
