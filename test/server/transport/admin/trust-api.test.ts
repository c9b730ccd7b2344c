// The admin API's trust routes (server/transport/admin/trust-routes.ts): what
// validation knows of each contributor after a real crawl, bans by address
// (listed, enforced on the socket, lifted), worker tokens (issued once, listed,
// revoked), and the stable error codes of bad calls.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { io } from 'socket.io-client';
import { ADMIN_NAMESPACE, PROTOCOL_VERSION } from '../../../../shared/protocol.ts';
import type { AdminUpdate } from '../../../../shared/admin-protocol.ts';
import type { BanList, ContributorTrust, IssuedWorkerToken, TrustList, WorkerTokenList } from '../../../../shared/admin-api.ts';
import { quotesSite } from '../../../fixtures/site/quotes.ts';
import { startFixtureServer } from '../../../fixtures/site/server.ts';
import { quotesSpec, startTestHub, startWorkers, TEST_ADMIN_TOKEN, waitForCrawlEnd } from '../../../helpers/hub.ts';

type Site = Awaited<ReturnType<typeof startFixtureServer>>;
type TestHub = Awaited<ReturnType<typeof startTestHub>>;

const PAGES = 4;
const ADDRESS = '127.0.0.5';
const CLIENT_ID = 'trust-api-client-0001';

let site: Site;
let hub: TestHub;
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: PAGES }));
  // One worker: the hub's own extraction is the second opinion, at once.
  hub = await startTestHub({ validation: { replicaWaitMs: 0 } });
});
after(async () => {
  await hub.cleanup();
  await site.close();
});

async function api(method: string, path: string, options: { body?: unknown; rawBody?: string; token?: string | null } = {}): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  const token = options.token === undefined ? TEST_ADMIN_TOKEN : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${hub.url}/api${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

/** Connects a worker socket from `localAddress`; resolves with the refusal's code, or 'connected'. */
function tryConnect(localAddress: string, auth: Record<string, unknown> = {}): Promise<string> {
  const socket = io(hub.url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    localAddress,
    auth: { protocolVersion: PROTOCOL_VERSION, kind: 'node', name: 'prober', clientId: `probe-${randomBytes(12).toString('base64url')}`, capacity: 1, ...auth },
  } as Parameters<typeof io>[1]);
  return new Promise((resolve) => {
    socket.once('connect', () => {
      socket.disconnect();
      resolve('connected');
    });
    socket.once('connect_error', (error: Error & { data?: { code?: string } }) => {
      socket.disconnect();
      resolve(error.data?.code ?? error.message);
    });
  });
}

test('GET /api/trust lists the worker of a finished crawl, as a client and as an address, on probation with every result checked; the live feed has the crawl\'s validation figures', async () => {
  const [worker] = await startWorkers(hub.url, 1, { name: 'careful', clientId: CLIENT_ID, localAddress: ADDRESS });
  try {
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin));
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.deepEqual([summary.status, summary.pagesDone], ['finished', PAGES]);
    assert.equal(summary.validation.checked, PAGES, 'a new contributor is checked on every result');
    // The console's live feed carries the same figures.
    const socket = io(`${hub.url}${ADMIN_NAMESPACE}`, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token: TEST_ADMIN_TOKEN } });
    try {
      const update = await new Promise<AdminUpdate>((resolve) => socket.once('admin:update', resolve));
      assert.deepEqual(update.crawls.find((c) => c.id === crawl.id)?.validation, summary.validation);
    } finally {
      socket.disconnect();
    }
  } finally {
    await worker!.stop();
  }
  await hub.engine.trust.flush();

  const res = await api('GET', '/trust');
  assert.equal(res.status, 200);
  const list = res.body as TrustList;
  assert.deepEqual(list.settings, { probationResults: 10, minCheckRate: 0.02, strikesToBan: 2 });
  const pick = ({ kind, value, label, checked, valid, invalid, trusted, strikes, state, checkRate, lastReason }: ContributorTrust) =>
    ({ kind, value, label, checked, valid, invalid, trusted, strikes, state, checkRate, lastReason });
  const browser = list.contributors.find((c) => c.kind === 'client' && c.value === CLIENT_ID);
  const address = list.contributors.find((c) => c.kind === 'address' && c.value === ADDRESS);
  assert.ok(browser && address, JSON.stringify(list.contributors));
  const record = { checked: PAGES, valid: PAGES, invalid: 0, trusted: 0, strikes: 0, state: 'probation', checkRate: 1, lastReason: null };
  assert.deepEqual(pick(browser), { kind: 'client', value: CLIENT_ID, label: 'careful', ...record });
  assert.deepEqual(pick(address), { kind: 'address', value: ADDRESS, label: ADDRESS, ...record });
  assert.equal(typeof browser.updatedAt, 'number');
});

test('a ban by address is listed, refuses a worker from that address under any client id, shows in trust, and an unban lets it back', async () => {
  assert.equal(await tryConnect(ADDRESS), 'connected', 'not banned yet');
  const banned = await api('POST', '/bans', { body: { address: ADDRESS, reason: 'forged prices' } });
  assert.equal(banned.status, 201, JSON.stringify(banned.body));
  assert.deepEqual(banned.body, { address: ADDRESS, reason: 'forged prices', sessionsClosed: 0 });

  const bans = (await api('GET', '/bans')).body as BanList;
  assert.deepEqual(bans.bans.map(({ kind, value, reason }) => ({ kind, value, reason })), [{ kind: 'address', value: ADDRESS, reason: 'forged prices' }]);
  assert.equal(typeof bans.bans[0]!.createdAt, 'number');
  assert.equal(await tryConnect(ADDRESS), 'BANNED');
  assert.equal(await tryConnect('127.0.0.6'), 'connected', 'another address is not affected');
  const trust = (await api('GET', '/trust')).body as TrustList;
  assert.equal(trust.contributors.find((c) => c.kind === 'address' && c.value === ADDRESS)?.state, 'banned');

  // A browser ban with no reason gets the default one; both kinds at once are two bans.
  const both = await api('POST', '/bans', { body: { clientId: 'someone-else-0001', address: '127.0.0.7' } });
  assert.equal(both.status, 201);
  const listed = ((await api('GET', '/bans')).body as BanList).bans.map((b) => `${b.kind}:${b.value}:${b.reason}`).sort();
  assert.deepEqual(listed, ['address:127.0.0.5:forged prices', 'address:127.0.0.7:banned by the operator', 'client:someone-else-0001:banned by the operator']);

  const lifted = await api('DELETE', `/bans/address/${encodeURIComponent(ADDRESS)}`);
  assert.equal(lifted.status, 200);
  assert.deepEqual(lifted.body, { unbanned: { kind: 'address', value: ADDRESS } });
  assert.equal(await tryConnect(ADDRESS), 'connected');
  assert.notEqual(((await api('GET', '/trust')).body as TrustList).contributors.find((c) => c.kind === 'address' && c.value === ADDRESS)?.state, 'banned');
  assert.equal((await api('DELETE', '/bans/client/someone-else-0001')).status, 200);
  assert.equal((await api('DELETE', '/bans/address/127.0.0.7')).status, 200);
  assert.deepEqual(((await api('GET', '/bans')).body as BanList).bans, []);

  const again = await api('DELETE', `/bans/address/${encodeURIComponent(ADDRESS)}`);
  assert.equal(again.status, 404);
  assert.equal(again.body.error.code, 'BAN_UNKNOWN');
  assert.equal((await api('DELETE', '/bans/client/nobody')).body.error.code, 'BAN_UNKNOWN');
});

test('a ban on a connected worker\'s address closes its session', async () => {
  const [worker] = await startWorkers(hub.url, 1, { name: 'soon-gone', localAddress: '127.0.0.8' });
  try {
    const res = await api('POST', '/bans', { body: { address: '127.0.0.8' } });
    assert.equal(res.body.sessionsClosed, 1);
    assert.ok(![...hub.engine.workers.all()].some((w) => w.address === '127.0.0.8'));
  } finally {
    await worker!.stop();
    await api('DELETE', '/bans/address/127.0.0.8');
  }
});

test('a worker token is issued once, listed without the token, lets a worker connect, and once revoked is refused', async () => {
  const issued = await api('POST', '/worker-tokens', { body: { name: '  edge-berlin  ' } });
  assert.equal(issued.status, 201);
  const token = issued.body as IssuedWorkerToken;
  assert.equal(token.name, 'edge-berlin', 'trimmed');
  assert.match(token.token, /^cct_[A-Za-z0-9_-]{32}$/);
  assert.equal(typeof token.id, 'string');

  const list = (await api('GET', '/worker-tokens')).body as WorkerTokenList;
  assert.deepEqual(list.tokens, [{ id: token.id, name: 'edge-berlin', createdAt: token.createdAt }]);
  assert.ok(!JSON.stringify(list).includes(token.token), 'the token itself is never listed');

  assert.equal(await tryConnect('127.0.0.1', { token: token.token }), 'connected');
  const revoked = await api('DELETE', `/worker-tokens/${encodeURIComponent(token.id)}`);
  assert.equal(revoked.status, 200);
  assert.deepEqual(revoked.body, { revoked: token.id });
  assert.deepEqual(((await api('GET', '/worker-tokens')).body as WorkerTokenList).tokens, []);
  assert.equal(await tryConnect('127.0.0.1', { token: token.token }), 'WORKER_TOKEN_UNKNOWN');

  const unknown = await api('DELETE', `/worker-tokens/${encodeURIComponent(token.id)}`);
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error.code, 'WORKER_TOKEN_NOT_FOUND');
});

test('bad bodies are 400 BAD_REQUEST and change nothing', async () => {
  const bad: [string, string, { body?: unknown; rawBody?: string }][] = [
    ['POST', '/bans', { body: {} }],
    ['POST', '/bans', { body: { reason: 'no one named' } }],
    ['POST', '/bans', { body: { address: '   ' } }],
    ['POST', '/bans', { body: { address: 42 } }],
    ['POST', '/bans', { body: { address: '127.0.0.9', extra: true } }],
    ['POST', '/bans', { body: { clientId: 'x'.repeat(201) } }],
    ['POST', '/bans', { body: [] }],
    ['POST', '/worker-tokens', { body: {} }],
    ['POST', '/worker-tokens', { body: { name: '' } }],
    ['POST', '/worker-tokens', { body: { name: '\u0000\u0007' } }],
    ['POST', '/worker-tokens', { body: { name: 'n'.repeat(101) } }],
    ['POST', '/worker-tokens', { body: { name: 'edge', token: 'mine' } }],
    ['DELETE', '/bans/cookie/abc', {}],
  ];
  for (const [method, path, options] of bad) {
    const res = await api(method, path, options);
    assert.equal(res.status, 400, `${method} ${path} ${JSON.stringify(options)}`);
    assert.equal(res.body.error.code, 'BAD_REQUEST', `${method} ${path} ${JSON.stringify(options)}`);
  }
  const broken = await api('POST', '/bans', { rawBody: '{"address": ' });
  assert.equal(broken.status, 400);
  assert.deepEqual(((await api('GET', '/bans')).body as BanList).bans, []);
  assert.deepEqual(((await api('GET', '/worker-tokens')).body as WorkerTokenList).tokens, []);
});

test('every trust route needs the admin token: 401 UNAUTHORIZED without it, or with a wrong one', async () => {
  const routes: [string, string, unknown?][] = [
    ['GET', '/trust'],
    ['GET', '/bans'],
    ['POST', '/bans', { address: '127.0.0.9' }],
    ['DELETE', '/bans/address/127.0.0.9'],
    ['GET', '/worker-tokens'],
    ['POST', '/worker-tokens', { name: 'sneaky' }],
    ['DELETE', '/worker-tokens/abc'],
  ];
  for (const [method, path, body] of routes) {
    const none = await api(method, path, { body, token: null });
    assert.equal(none.status, 401, `${method} ${path}`);
    assert.equal(none.body.error.code, 'UNAUTHORIZED', `${method} ${path}`);
  }
  const wrong = await api('GET', '/trust', { token: 'not-the-admin-token-0123456789' });
  assert.equal(wrong.status, 401);
  assert.deepEqual(((await api('GET', '/bans')).body as BanList).bans, [], 'nothing was banned');
  assert.deepEqual(((await api('GET', '/worker-tokens')).body as WorkerTokenList).tokens, [], 'no token was issued');
});
