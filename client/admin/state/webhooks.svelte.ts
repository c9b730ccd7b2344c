// The webhooks page: where the hub POSTs crawl events, the latest deliveries
// and their answers; adding, enabling, disabling and deleting a webhook, and
// sending a delivery again.
import { WEBHOOK_EVENT_NAMES, type DeliveryList, type DeliveryView, type WebhookEvent, type WebhookInput, type WebhookList, type WebhookView } from '../../../shared/ops-api.ts';
import type { AdminApp } from './app.svelte.ts';

export class WebhookDraft {
  url = $state('');
  specName = $state('');
  events = $state<WebhookEvent[]>([...WEBHOOK_EVENT_NAMES]);

  input(): WebhookInput {
    return { url: this.url.trim(), specName: this.specName.trim() || null, events: this.events };
  }

  toggle(event: WebhookEvent, on: boolean): void {
    this.events = on ? [...new Set([...this.events, event])] : this.events.filter((e) => e !== event);
  }
}

export class WebhooksState {
  webhooks = $state.raw<WebhookView[]>([]);
  deliveries = $state.raw<DeliveryView[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);
  formError = $state<string | null>(null);
  /** The secret of the webhook just created: shown once. */
  newSecret = $state<{ url: string; secret: string } | null>(null);
  readonly draft = new WebhookDraft();
  private readonly app: AdminApp;

  constructor(app: AdminApp) {
    this.app = app;
  }

  async load(): Promise<void> {
    try {
      const [hooks, deliveries] = await Promise.all([
        this.app.api.get<WebhookList>('/webhooks'),
        this.app.api.get<DeliveryList>('/webhooks/deliveries?limit=100'),
      ]);
      this.webhooks = hooks.webhooks;
      this.deliveries = deliveries.deliveries;
      this.error = null;
    } catch (error) {
      this.error = (error as Error).message;
    } finally {
      this.loaded = true;
    }
  }

  urlOf(webhookId: string): string {
    return this.webhooks.find((w) => w.id === webhookId)?.url ?? webhookId;
  }

  async create(): Promise<void> {
    try {
      const created = await this.app.api.post<WebhookView>('/webhooks', this.draft.input());
      this.newSecret = { url: created.url, secret: created.secret ?? '' };
      this.formError = null;
      this.draft.url = '';
      await this.load();
    } catch (error) {
      this.formError = (error as Error).message;
    }
  }

  async setEnabled(hook: WebhookView, enabled: boolean): Promise<void> {
    const done = await this.app.attempt(() => this.app.api.patch<WebhookView>(`/webhooks/${encodeURIComponent(hook.id)}`, { enabled }), enabled ? 'Enabled' : 'Disabled');
    if (done) await this.load();
  }

  async redeliver(delivery: DeliveryView): Promise<void> {
    const done = await this.app.attempt(() => this.app.api.post(`/webhooks/deliveries/${encodeURIComponent(delivery.id)}/redeliver`), 'Sending again');
    if (done) await this.load();
  }

  async remove(hook: WebhookView): Promise<void> {
    const ok = await this.app.confirm({
      title: `Delete the webhook to ${hook.url}?`,
      body: 'No more events go to it, and its deliveries are forgotten.',
      confirmLabel: 'Delete',
      danger: true,
    });
    if (!ok) return;
    const done = await this.app.attempt(() => this.app.api.delete(`/webhooks/${encodeURIComponent(hook.id)}`).then(() => true), 'Deleted');
    if (done) await this.load();
  }
}
