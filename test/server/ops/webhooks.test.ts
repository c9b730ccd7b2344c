// Webhooks against a local receiver on 127.0.0.1, the hub's core on fake
// time: events are POSTed signed (the receiver's check passes, a tampered body
// fails it), a 500 is retried after the backoff, a receiver that keeps failing
// is given up on after maxAttempts, every answer is visible in the API, and
// two deliverers on one database (two hubs of a fleet) send each delivery once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestHub } from '../../helpers/hub.ts';
import { createFakeClock } from '../../helpers/fake-clock.ts';
import { ADMIN_TOKEN, api, testSpec } from '../transport/admin/helpers.ts';
import { SIGNATURE_HEADER, verifySignature } from '../../../server/ops/signature.ts';
import { Deliverer } from '../../../server/ops/deliverer.ts';
import { SqliteStorage } from '../../../server/storage/sqlite/sqlite-storage.ts';
import { silentLogger } from '../../../server/log.ts';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
  path: string;
}

/** A receiver answering each request with the next status of `script` (the last one repeats). */
async function receiver(): Promise<{ url: string; got: Received[]; script: number[]; close(): Promise<void> }> {
  const got: Received[] = [];
  const script: number[] = [204];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      got.push({ headers: req.headers, body, path: req.url ?? '' });
      res.statusCode = script.length > 1 ? script.shift()! : script[0]!;
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, got, script, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const clock = createFakeClock();
let hub: Awaited<ReturnType<typeof startTestHub>>;
let rx: Awaited<ReturnType<typeof receiver>>;
const webhooks = { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 60_000, pollMs: 500, claimMs: 30_000 };

before(async () => {
  rx = await receiver();
  hub = await startTestHub({ adminToken: ADMIN_TOKEN, ops: { webhooks, publicUrl: 'https://hub.example' } }, { clock, random: () => 0 });
});
after(async () => {
  await hub.cleanup();
  await rx.close();
});

/** Lets queued events go out, then moves fake time by `ms` in poll-sized steps, waiting for each round. */
async function deliver(ms = 0): Promise<void> {
  await hub.ops.eventsQueued();
  await hub.ops.deliverer.idle();
  for (let done = 0; done < ms; done += webhooks.pollMs) {
    clock.tick(webhooks.pollMs);
    await hub.ops.deliverer.idle();
  }
}

async function hook(path: string, body: Record<string, unknown> = {}) {
  const res = await api(hub, 'POST', '/webhooks', { body: { url: `${rx.url}${path}`, ...body } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { id: string; secret: string };
}

test('bad webhooks are refused with WEBHOOK_INVALID; the secret is shown once', async () => {
  const bad = await api(hub, 'POST', '/webhooks', { body: { url: 'ftp://x.example/', events: ['crawl.exploded'], color: 'red' } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'WEBHOOK_INVALID');
  for (const path of ['url', 'events.0', 'body']) assert.match(bad.body.error.message, new RegExp(`${path.replace('.', '\\.')}: `), path);
  const creds = await api(hub, 'POST', '/webhooks', { body: { url: 'http://user:pw@127.0.0.1/' } });
  assert.match(creds.body.error.message, /no credentials/);
  const h = await hook('/once');
  assert.match(h.secret, /^whsec_/);
  const listed = (await api(hub, 'GET', '/webhooks')).body.webhooks;
  assert.equal(listed.find((w: { id: string }) => w.id === h.id).secret, undefined, 'never listed again');
  assert.equal((await api(hub, 'DELETE', `/webhooks/${h.id}`)).status, 204);
  assert.equal((await api(hub, 'GET', `/webhooks/${h.id}`)).body.error.code, 'WEBHOOK_UNKNOWN');
  assert.equal((await api(hub, 'POST', '/webhooks/deliveries/nope/redeliver')).body.error.code, 'DELIVERY_UNKNOWN');
});

test('a crawl\'s start and end are POSTed signed, with its counts and export links; a 500 is retried after the backoff', async () => {
  const h = await hook('/signed', { specName: 'books', events: ['crawl.started', 'crawl.cancelled'] });
  const other = await hook('/other-spec', { specName: 'not-this-one' });
  rx.script.splice(0, rx.script.length, 500, 204);
  const crawl = await hub.engine.createCrawl(testSpec());
  await deliver();
  const first = rx.got.filter((r) => r.path === '/signed');
  assert.equal(first.length, 1, 'crawl.started went out once and got a 500');
  let deliveries = (await api(hub, 'GET', `/webhooks/${h.id}/deliveries`)).body.deliveries;
  assert.deepEqual(deliveries.map((d: any) => [d.event, d.state, d.attempts, d.lastStatus]), [['crawl.started', 'pending', 1, 500]]);
  assert.match(deliveries[0].lastError, /answered 500/);
  assert.equal(deliveries[0].nextAttemptAt, clock.now() + 1000, 'retried after baseDelayMs');
  await deliver(1000);
  await hub.engine.control(crawl.id, 'cancel');
  await deliver();
  const signed = rx.got.filter((r) => r.path === '/signed');
  assert.equal(signed.length, 3, 'the retry, then crawl.cancelled');
  for (const r of signed) {
    assert.equal(r.headers['content-type'], 'application/json');
    assert.ok(verifySignature(h.secret, r.body, String(r.headers[SIGNATURE_HEADER]), Math.floor(clock.now() / 1000)), 'the receiver\'s check passes');
    assert.equal(verifySignature(h.secret, r.body.replace('books', 'bookz'), String(r.headers[SIGNATURE_HEADER]), Math.floor(clock.now() / 1000)), false, 'a changed body fails it');
    assert.equal(verifySignature('whsec_wrong', r.body, String(r.headers[SIGNATURE_HEADER]), Math.floor(clock.now() / 1000)), false);
    assert.equal(verifySignature(h.secret, r.body, String(r.headers[SIGNATURE_HEADER]), Math.floor(clock.now() / 1000) + 3600), false, 'an old one is a replay');
  }
  assert.equal(signed[0]!.body, signed[1]!.body, 'a retry sends the same body (same delivery id)');
  const ended = JSON.parse(signed[2]!.body);
  assert.equal(signed[2]!.headers['crowdcrawl-event'], 'crawl.cancelled');
  assert.equal(ended.id, `${h.id}:${crawl.id}:crawl.cancelled`);
  assert.deepEqual([ended.event, ended.crawl.id, ended.crawl.status, ended.crawl.finishReason], ['crawl.cancelled', crawl.id, 'cancelled', 'cancelled']);
  assert.deepEqual(ended.counts, { pagesDone: 0, pagesFailed: 0, pagesSkipped: 0, items: 0 });
  assert.equal(ended.export.csv, `https://hub.example/api/crawls/${crawl.id}/export?format=csv`);
  assert.equal(rx.got.filter((r) => r.path === '/other-spec').length, 0, 'a webhook for another spec hears nothing');
  deliveries = (await api(hub, 'GET', `/webhooks/${h.id}/deliveries`)).body.deliveries;
  assert.deepEqual(deliveries.map((d: any) => [d.event, d.state, d.attempts, d.lastStatus]).sort(), [['crawl.cancelled', 'delivered', 1, 204], ['crawl.started', 'delivered', 2, 204]]);
  assert.ok(deliveries.every((d: any) => typeof d.lastLatencyMs === 'number'));
  await api(hub, 'DELETE', `/webhooks/${h.id}`);
  await api(hub, 'DELETE', `/webhooks/${other.id}`);
});

test('a receiver that keeps failing is given up on after maxAttempts, with exponential backoff; redeliver sends it again', async () => {
  const h = await hook('/down', { events: ['crawl.started'] });
  rx.script.splice(0, rx.script.length, 503);
  await hub.engine.createCrawl(testSpec({ name: 'down' }));
  await deliver();
  const at = () => rx.got.filter((r) => r.path === '/down').length;
  assert.equal(at(), 1);
  await deliver(1000);
  assert.equal(at(), 2, 'second attempt after 1 s');
  await deliver(1500);
  assert.equal(at(), 2, 'the third waits 2 s');
  await deliver(1000);
  assert.equal(at(), 3);
  await deliver(60_000);
  assert.equal(at(), 3, 'no fourth attempt');
  const [d] = (await api(hub, 'GET', `/webhooks/${h.id}/deliveries`)).body.deliveries;
  assert.deepEqual([d.state, d.attempts, d.lastStatus, d.nextAttemptAt], ['failed', 3, 503, null]);
  assert.equal((await api(hub, 'GET', '/webhooks/deliveries')).body.deliveries.some((x: any) => x.id === d.id), true, 'listed hub-wide too');
  rx.script.splice(0, rx.script.length, 200);
  assert.equal((await api(hub, 'POST', `/webhooks/deliveries/${encodeURIComponent(d.id)}/redeliver`)).status, 202);
  await deliver();
  assert.equal(at(), 4);
  const [again] = (await api(hub, 'GET', `/webhooks/${h.id}/deliveries`)).body.deliveries;
  assert.deepEqual([again.state, again.lastStatus], ['delivered', 200]);
  await api(hub, 'DELETE', `/webhooks/${h.id}`);
});

test('two deliverers on one database (a fleet of two hubs) send each delivery exactly once', async () => {
  const h = await hook('/fleet', { events: ['crawl.finished'] });
  rx.script.splice(0, rx.script.length, 200);
  const a = SqliteStorage.open(hub.dataDir);
  const b = SqliteStorage.open(hub.dataDir);
  const options = { clock, log: silentLogger, timeoutMs: 5000, maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 1000, claimMs: 30_000, pollMs: 60_000, batch: 4 };
  const deliverers = [new Deliverer({ ...options, storage: a, hubId: 'hub-a' }), new Deliverer({ ...options, storage: b, hubId: 'hub-b' })];
  try {
    const ids = Array.from({ length: 20 }, (_, i) => `${h.id}:fleet-${i}:crawl.finished`);
    for (const [i, id] of ids.entries()) {
      // Both hubs see every crawl end and queue its event; the second queuing is refused.
      const row = { id, webhookId: h.id, crawlId: `fleet-${i}`, event: 'crawl.finished' as const, payload: JSON.stringify({ id }), createdAt: clock.now() };
      assert.deepEqual(await Promise.all([a.enqueueDelivery(row), b.enqueueDelivery(row)]), [true, false]);
    }
    for (const d of deliverers) d.kick();
    await Promise.all(deliverers.map((d) => d.idle()));
    const got = rx.got.filter((r) => r.path === '/fleet').map((r) => JSON.parse(r.body).id as string);
    assert.equal(got.length, 20, `20 deliveries, 20 requests (got ${got.length})`);
    assert.deepEqual(new Set(got), new Set(ids));
    const byHub = new Set((await a.listDeliveries(h.id, 100)).map((d) => d.state));
    assert.deepEqual(byHub, new Set(['delivered']));
  } finally {
    for (const d of deliverers) await d.close();
    await a.close();
    await b.close();
  }
});
