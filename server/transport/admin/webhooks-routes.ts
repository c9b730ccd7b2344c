// /api/webhooks: where the hub POSTs crawl events, and what became of each
// delivery (server/ops/deliverer.ts). Only the operator sets a webhook's URL
// (this API needs the admin token), so private addresses are allowed. The
// signing secret is shown once, in the answer that creates the webhook.
import express, { type Router } from 'express';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { HubError } from '../../../shared/errors.ts';
import { WEBHOOK_EVENT_NAMES, type DeliveryList, type DeliveryView, type WebhookList, type WebhookView } from '../../../shared/ops-api.ts';
import type { DeliveryRow, Storage, WebhookRow } from '../../storage/storage.ts';
import { newOpsId, type Ops } from '../../ops/ops.ts';
import { parseWith } from './parse-with.ts';

const events = z
  .array(z.enum(WEBHOOK_EVENT_NAMES as [string, ...string[]]))
  .min(1, 'give at least one event')
  .transform((list) => [...new Set(list)] as WebhookRow['events']);
const fields = {
  url: z
    .url({ protocol: /^https?$/, error: 'a webhook URL is http:// or https://' })
    .max(2000)
    .refine((u) => new URL(u).username === '' && new URL(u).password === '', 'put no credentials in the URL: the signature proves who sends'),
  specName: z.string().trim().min(1).max(200).nullable(),
  events,
  enabled: z.boolean(),
};
const createBody = z.strictObject({
  ...fields,
  specName: fields.specName.default(null),
  events: fields.events.default([...WEBHOOK_EVENT_NAMES]),
  enabled: fields.enabled.default(true),
  /** Normally generated; an operator moving receivers between hubs may give one. */
  secret: z.string().min(16, 'a secret has at least 16 characters').max(200).optional(),
});
const updateBody = z.strictObject(fields).partial();

function webhookView(row: WebhookRow): WebhookView {
  return { id: row.id, url: row.url, specName: row.specName, events: row.events, enabled: row.enabled, createdAt: row.createdAt };
}

export function deliveryView(row: DeliveryRow): DeliveryView {
  return {
    id: row.id,
    webhookId: row.webhookId,
    crawlId: row.crawlId,
    event: row.event,
    state: row.state,
    attempts: row.attempts,
    nextAttemptAt: row.state === 'pending' ? row.nextAttemptAt : null,
    lastStatus: row.lastStatus,
    lastLatencyMs: row.lastLatencyMs,
    lastError: row.lastError,
    createdAt: row.createdAt,
    deliveredAt: row.deliveredAt,
  };
}

function limitOf(raw: unknown): number {
  if (raw === undefined) return 100;
  const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= 1 && n <= 1000)) throw new HubError('BAD_REQUEST', '"limit" must be a whole number from 1 to 1000');
  return n;
}

export function webhooksRouter(storage: Storage, ops: Ops, now: () => number): Router {
  const router = express.Router();
  const requireRow = async (id: string): Promise<WebhookRow> => {
    const row = await storage.getWebhook(id);
    if (!row) throw new HubError('WEBHOOK_UNKNOWN', `no webhook with id "${id}"`);
    return row;
  };

  router.get('/webhooks', async (_req, res) => {
    const list: WebhookList = { webhooks: (await storage.listWebhooks()).map(webhookView) };
    res.json(list);
  });

  router.post('/webhooks', async (req, res) => {
    const { secret, ...body } = parseWith(createBody, req.body, 'WEBHOOK_INVALID');
    const row: WebhookRow = { id: newOpsId('whk'), ...body, secret: secret ?? `whsec_${randomBytes(24).toString('base64url')}`, createdAt: now() };
    await storage.insertWebhook(row);
    res.status(201).location(`${req.baseUrl}/webhooks/${row.id}`).json({ ...webhookView(row), secret: row.secret } satisfies WebhookView);
  });

  // Before /webhooks/:id, so "deliveries" is not taken for an id.
  router.get('/webhooks/deliveries', async (req, res) => {
    const list: DeliveryList = { deliveries: (await storage.listDeliveries(undefined, limitOf(req.query.limit))).map(deliveryView) };
    res.json(list);
  });

  router.post('/webhooks/deliveries/:id/redeliver', async (req, res) => {
    if (!(await storage.redeliver(req.params.id, now()))) throw new HubError('DELIVERY_UNKNOWN', `no delivery with id "${req.params.id}"`);
    ops.deliverer.kick();
    res.status(202).json({ redelivering: req.params.id });
  });

  router.get('/webhooks/:id', async (req, res) => {
    res.json(webhookView(await requireRow(req.params.id)));
  });

  router.get('/webhooks/:id/deliveries', async (req, res) => {
    const row = await requireRow(req.params.id);
    const list: DeliveryList = { deliveries: (await storage.listDeliveries(row.id, limitOf(req.query.limit))).map(deliveryView) };
    res.json(list);
  });

  router.patch('/webhooks/:id', async (req, res) => {
    const row = await requireRow(req.params.id);
    const body = parseWith(updateBody, req.body, 'WEBHOOK_INVALID');
    const updated = await storage.updateWebhook(row.id, {
      url: body.url ?? row.url,
      specName: body.specName === undefined ? row.specName : body.specName,
      events: body.events ?? row.events,
      enabled: body.enabled ?? row.enabled,
    });
    if (!updated) throw new HubError('WEBHOOK_UNKNOWN', `no webhook with id "${row.id}"`);
    res.json(webhookView(updated));
  });

  router.delete('/webhooks/:id', async (req, res) => {
    const row = await requireRow(req.params.id);
    await storage.deleteWebhook(row.id);
    res.status(204).end();
  });

  return router;
}
