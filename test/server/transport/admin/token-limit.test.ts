// One limit on wrong admin tokens per client address, over the sign-in form,
// Bearer tokens on /api and the /admin socket together (server/transport/admin/rate-limit.ts).
// Clients bind distinct loopback addresses to be different clients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, fetch as undiciFetch } from 'undici';
import { io } from 'socket.io-client';
import { install } from '@sinonjs/fake-timers';
import { ADMIN_NAMESPACE } from '../../../../shared/protocol.ts';
import { startTestHub, TEST_ADMIN_TOKEN } from '../../../helpers/hub.ts';

type TestHub = Awaited<ReturnType<typeof startTestHub>>;

const agents = new Map<string, Agent>();
/** An HTTP client that connects from `address` (127.0.0.x). */
function from(address: string): Agent {
  let agent = agents.get(address);
  if (!agent) agents.set(address, (agent = new Agent({ localAddress: address })));
  return agent;
}

async function bearer(hub: TestHub, token: string, address = '127.0.0.1'): Promise<{ status: number; code?: string; retryAfter: string | null }> {
  const res = await undiciFetch(`${hub.url}/api/stats`, { headers: { authorization: `Bearer ${token}` }, dispatcher: from(address) });
  const body = (await res.json()) as { error?: { code: string } };
  return { status: res.status, code: body.error?.code, retryAfter: res.headers.get('retry-after') };
}

async function signIn(hub: TestHub, token: string, address = '127.0.0.1'): Promise<{ status: number; code?: string }> {
  const res = await undiciFetch(`${hub.url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
    dispatcher: from(address),
  });
  const body = (await res.json()) as { error?: { code: string } };
  return { status: res.status, code: body.error?.code };
}

/** Connects to /admin with a token from `address`: 'ok', or the refusal's code. */
function socketWith(hub: TestHub, token: string, address = '127.0.0.1'): Promise<string> {
  const socket = io(`${hub.url}${ADMIN_NAMESPACE}`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth: { token },
    localAddress: address,
  } as Parameters<typeof io>[1]);
  return new Promise((resolve) => {
    socket.once('admin:update', () => {
      socket.disconnect();
      resolve('ok');
    });
    socket.once('connect_error', (error: Error & { data?: { code: string } }) => {
      socket.disconnect();
      resolve(error.data?.code ?? error.message);
    });
  });
}

test.after(async () => {
  await Promise.all([...agents.values()].map((agent) => agent.close()));
});

test('after 10 wrong Bearer tokens an address gets 429 SIGN_IN_RATE_LIMITED on the API, the sign-in form and the socket, right token or not, until the window passes; other addresses are not affected', async () => {
  const hub = await startTestHub();
  try {
    for (let attempt = 1; attempt <= 10; attempt++) {
      const wrong = await bearer(hub, `wrong-token-${attempt}-xxxxxxxxxxxx`);
      assert.deepEqual([wrong.status, wrong.code], [401, 'UNAUTHORIZED'], `attempt ${attempt}`);
    }
    const limited = await bearer(hub, TEST_ADMIN_TOKEN);
    assert.deepEqual([limited.status, limited.code], [429, 'SIGN_IN_RATE_LIMITED'], 'the right token too');
    assert.ok(Number(limited.retryAfter) > 0 && Number(limited.retryAfter) <= 60, `Retry-After: ${limited.retryAfter}`);
    assert.deepEqual(await signIn(hub, TEST_ADMIN_TOKEN), { status: 429, code: 'SIGN_IN_RATE_LIMITED' }, 'the sign-in form shares the limit');
    assert.equal(await socketWith(hub, TEST_ADMIN_TOKEN), 'SIGN_IN_RATE_LIMITED', 'the admin socket shares the limit');

    // Another address is another client.
    assert.equal((await bearer(hub, TEST_ADMIN_TOKEN, '127.0.0.2')).status, 200);
    assert.equal(await socketWith(hub, TEST_ADMIN_TOKEN, '127.0.0.2'), 'ok');
    assert.equal((await signIn(hub, TEST_ADMIN_TOKEN, '127.0.0.2')).status, 201);

    // The window (60 s) passes: only Date is faked (the limiter reads Date.now()); sockets keep real timers.
    const clock = install({ now: Date.now(), toFake: ['Date'] });
    try {
      // (The window began at the first wrong token, a few real seconds ago at most on a busy machine.)
      clock.tick(45_000);
      assert.equal((await bearer(hub, TEST_ADMIN_TOKEN)).status, 429, 'still inside the window');
      clock.tick(15_100);
      assert.equal((await bearer(hub, TEST_ADMIN_TOKEN)).status, 200, 'the window has passed');
      assert.equal(await socketWith(hub, TEST_ADMIN_TOKEN), 'ok');
    } finally {
      clock.uninstall();
    }
  } finally {
    await hub.cleanup();
  }
});

test('wrong tokens on the admin socket count too: the 11th attempt is refused with SIGN_IN_RATE_LIMITED, and so is the API from that address', async () => {
  const hub = await startTestHub();
  try {
    for (let attempt = 1; attempt <= 10; attempt++) {
      assert.equal(await socketWith(hub, `wrong-token-${attempt}-xxxxxxxxxxxx`, '127.0.0.3'), 'UNAUTHORIZED', `attempt ${attempt}`);
    }
    assert.equal(await socketWith(hub, TEST_ADMIN_TOKEN, '127.0.0.3'), 'SIGN_IN_RATE_LIMITED');
    assert.equal((await bearer(hub, TEST_ADMIN_TOKEN, '127.0.0.3')).status, 429);
    assert.equal(await socketWith(hub, TEST_ADMIN_TOKEN, '127.0.0.4'), 'ok', 'another address connects');
    assert.equal((await bearer(hub, TEST_ADMIN_TOKEN)).status, 200);
  } finally {
    await hub.cleanup();
  }
});

test('the limit is a setting (adminAuth), and sign-in failures count against the API', async () => {
  const hub = await startTestHub({ adminAuth: { maxFailures: 2, windowMs: 10_000 } });
  try {
    assert.equal((await signIn(hub, 'wrong-token-xxxxxxxxxxxxxxxx', '127.0.0.5')).code, 'WRONG_TOKEN');
    assert.equal((await bearer(hub, 'wrong-token-xxxxxxxxxxxxxxxx', '127.0.0.5')).status, 401);
    const limited = await bearer(hub, TEST_ADMIN_TOKEN, '127.0.0.5');
    assert.deepEqual([limited.status, limited.code], [429, 'SIGN_IN_RATE_LIMITED']);
    assert.ok(Number(limited.retryAfter) <= 10);
  } finally {
    await hub.cleanup();
  }
});
