import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { ADMIN_NAMESPACE } from '../../../../shared/protocol.ts';
import type { AdminUpdate } from '../../../../shared/admin-protocol.ts';
import { startTestHub, TEST_ADMIN_TOKEN } from '../../../helpers/hub.ts';
import { testSpec } from './helpers.ts';

type TestHub = Awaited<ReturnType<typeof startTestHub>>;

let hub: TestHub;
before(async () => {
  hub = await startTestHub();
});
after(async () => {
  await hub.cleanup();
});

interface Session {
  cookie: string;
  csrfToken: string;
  setCookie: string;
}

async function signIn(target: TestHub, token = TEST_ADMIN_TOKEN, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${target.url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ token }),
  });
}

async function session(target: TestHub = hub): Promise<Session> {
  const res = await signIn(target);
  assert.equal(res.status, 201);
  const setCookie = res.headers.getSetCookie()[0]!;
  const body = (await res.json()) as { csrfToken: string };
  return { cookie: setCookie.split(';')[0]!, csrfToken: body.csrfToken, setCookie };
}

function call(method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Response> {
  return fetch(`${hub.url}/api${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** Connects to the /admin namespace; resolves with the first update, or rejects with the refusal. */
function liveConnect(options: { cookie?: string; token?: string; origin?: string }): Promise<{ update: AdminUpdate; socket: ReturnType<typeof io> }> {
  const headers: Record<string, string> = {};
  if (options.cookie) headers.cookie = options.cookie;
  if (options.origin) headers.origin = options.origin;
  const socket = io(`${hub.url}${ADMIN_NAMESPACE}`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    extraHeaders: headers,
    auth: options.token === undefined ? {} : { token: options.token },
  });
  return new Promise((resolve, reject) => {
    socket.once('admin:update', (update) => resolve({ update, socket }));
    socket.once('connect_error', (error: Error & { data?: { code: string } }) => {
      socket.disconnect();
      reject(Object.assign(new Error(error.message), { code: error.data?.code }));
    });
  });
}

test('signing in with the token sets an httpOnly, SameSite=Strict session cookie that holds a random id, not the token', async () => {
  const res = await signIn(hub);
  assert.equal(res.status, 201);
  const body = (await res.json()) as { csrfToken: string; expiresAt: number };
  assert.match(body.csrfToken, /^[A-Za-z0-9_-]{20,}$/);
  assert.ok(body.expiresAt > Date.now());
  const setCookie = res.headers.getSetCookie()[0]!;
  assert.match(setCookie, /^crowdcrawl_admin=[A-Za-z0-9_-]{40,};/);
  assert.match(setCookie, /; HttpOnly/i);
  assert.match(setCookie, /; SameSite=Strict/i);
  assert.match(setCookie, /; Path=\//i);
  assert.doesNotMatch(setCookie, /; Secure/i, 'plain http: no Secure flag, or the browser would drop the cookie');
  assert.ok(!setCookie.includes(TEST_ADMIN_TOKEN), 'the cookie is not the token');

  const https = await signIn(hub, TEST_ADMIN_TOKEN, { origin: `https://127.0.0.1:${hub.port}`, host: `127.0.0.1:${hub.port}` });
  assert.equal(https.status, 201);
  assert.match(https.headers.getSetCookie()[0]!, /; Secure/i, 'a console served over https gets a Secure cookie');
});

test('a wrong token is refused with a clear message, and after ten wrong tokens sign-in is paused for that address, right token or not', async () => {
  const own = await startTestHub();
  try {
    for (let attempt = 1; attempt <= 10; attempt++) {
      const res = await signIn(own, 'not-the-token-at-all');
      assert.equal(res.status, 401, `attempt ${attempt}`);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'WRONG_TOKEN');
      assert.match(body.error.message, /not this hub's admin token/);
      assert.equal(res.headers.getSetCookie().length, 0, 'no cookie for a wrong token');
    }
    const limited = await signIn(own, TEST_ADMIN_TOKEN);
    assert.equal(limited.status, 429);
    const body = (await limited.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'SIGN_IN_RATE_LIMITED');
    assert.match(body.error.message, /too many wrong tokens/);
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    assert.equal(limited.headers.getSetCookie().length, 0);
  } finally {
    await own.cleanup();
  }
});

test('a sign-in without a token, or from another site\'s page, is refused', async () => {
  const empty = await fetch(`${hub.url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(empty.status, 400);
  const foreign = await signIn(hub, TEST_ADMIN_TOKEN, { origin: 'https://evil.example' });
  assert.equal(foreign.status, 403);
  assert.equal(foreign.headers.getSetCookie().length, 0);
});

test('without the cookie (or the token) every admin route refuses with 401 and changes nothing', async () => {
  const crawl = await hub.engine.createCrawl(testSpec({ name: 'untouched' }), { start: false });
  const routes: [string, string, unknown?][] = [
    ['GET', '/session'],
    ['GET', '/stats'],
    ['GET', '/workers'],
    ['POST', '/workers/x/disconnect', {}],
    ['POST', '/workers/x/ban', {}],
    ['GET', '/crawls'],
    ['POST', '/crawls', testSpec()],
    ['GET', `/crawls/${crawl.id}`],
    ['POST', `/crawls/${crawl.id}/start`, {}],
    ['POST', `/crawls/${crawl.id}/cancel`, {}],
    ['GET', `/crawls/${crawl.id}/items?q=x`],
    ['GET', `/crawls/${crawl.id}/export?format=csv`],
    ['POST', '/preview', { spec: testSpec() }],
    ['GET', '/specs'],
    ['POST', '/specs', { spec: testSpec() }],
    ['PUT', '/specs/x', { spec: testSpec() }],
    ['DELETE', '/specs/x'],
  ];
  const before = hub.engine.crawls.list().length;
  for (const [method, path, body] of routes) {
    for (const headers of [{}, { cookie: 'crowdcrawl_admin=forged-session-id-0123456789abcdef' }] as Record<string, string>[]) {
      const res = await call(method, path, headers, body);
      assert.equal(res.status, 401, `${method} ${path} with ${JSON.stringify(headers)}`);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'UNAUTHORIZED');
    }
  }
  assert.equal(hub.engine.crawls.list().length, before);
  assert.equal(hub.engine.crawls.require(crawl.id).status, 'created');
});

test('with the cookie, reading works; a state-changing request needs the CSRF header and an Origin of this hub', async () => {
  const s = await session();
  const read = await call('GET', '/crawls', { cookie: s.cookie });
  assert.equal(read.status, 200);
  const sessionInfo = await call('GET', '/session', { cookie: s.cookie });
  assert.equal(((await sessionInfo.json()) as { csrfToken: string }).csrfToken, s.csrfToken, 'a reloaded console gets its CSRF token back');

  const before = hub.engine.crawls.list().length;
  const noHeader = await call('POST', '/crawls', { cookie: s.cookie }, testSpec({ name: 'csrf-missing' }));
  assert.equal(noHeader.status, 403);
  assert.equal(((await noHeader.json()) as { error: { code: string } }).error.code, 'CSRF_FAILED');
  const wrongHeader = await call('POST', '/crawls', { cookie: s.cookie, 'x-csrf-token': 'guessed-token-0123456789' }, testSpec({ name: 'csrf-wrong' }));
  assert.equal(wrongHeader.status, 403);
  const foreign = await call('POST', '/crawls', { cookie: s.cookie, 'x-csrf-token': s.csrfToken, origin: 'https://evil.example' }, testSpec({ name: 'csrf-origin' }));
  assert.equal(foreign.status, 403);
  assert.equal(hub.engine.crawls.list().length, before, 'no refused request created a crawl');

  const ok = await call('POST', '/crawls', { cookie: s.cookie, 'x-csrf-token': s.csrfToken, origin: hub.url }, { spec: testSpec({ name: 'csrf-ok' }), start: false });
  assert.equal(ok.status, 201);

  const bearer = await call('GET', '/stats', { authorization: `Bearer ${TEST_ADMIN_TOKEN}` });
  assert.equal(bearer.status, 200, 'the CLI\'s bearer token keeps working');
});

test('the /admin namespace refuses a connection without a session or token, and accepts the cookie or the token', async () => {
  await assert.rejects(liveConnect({}), (error: Error & { code?: string }) => error.code === 'UNAUTHORIZED');
  await assert.rejects(liveConnect({ cookie: 'crowdcrawl_admin=forged-session-id-0123456789abcdef' }), (error: Error & { code?: string }) => error.code === 'UNAUTHORIZED');
  await assert.rejects(liveConnect({ token: 'wrong-token-0123456789' }), (error: Error & { code?: string }) => error.code === 'UNAUTHORIZED');
  const s = await session();
  await assert.rejects(liveConnect({ cookie: s.cookie, origin: 'https://evil.example' }), (error: Error & { code?: string }) => error.code === 'UNAUTHORIZED');

  const byCookie = await liveConnect({ cookie: s.cookie });
  assert.ok(Array.isArray(byCookie.update.crawls));
  assert.equal(typeof byCookie.update.totals.workers, 'number');
  byCookie.socket.disconnect();
  const byToken = await liveConnect({ token: TEST_ADMIN_TOKEN });
  byToken.socket.disconnect();
});

test('signing out ends the session: the cookie is cleared, refused afterwards, and its live socket is closed', async () => {
  const s = await session();
  const live = await liveConnect({ cookie: s.cookie });
  const closed = new Promise<string>((resolve) => live.socket.once('disconnect', resolve));

  const withoutCsrf = await call('DELETE', '/session', { cookie: s.cookie });
  assert.equal(withoutCsrf.status, 403, 'signing out is state-changing too');

  const out = await call('DELETE', '/session', { cookie: s.cookie, 'x-csrf-token': s.csrfToken });
  assert.equal(out.status, 204);
  assert.match(out.headers.getSetCookie()[0] ?? '', /^crowdcrawl_admin=;.*Expires=Thu, 01 Jan 1970/i);
  assert.equal(await closed, 'io server disconnect');

  assert.equal((await call('GET', '/crawls', { cookie: s.cookie })).status, 401);
  assert.equal((await call('GET', '/session', { cookie: s.cookie })).status, 401);
  await assert.rejects(liveConnect({ cookie: s.cookie }), (error: Error & { code?: string }) => error.code === 'UNAUTHORIZED');
});
