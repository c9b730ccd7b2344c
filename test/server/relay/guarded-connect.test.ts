import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net, { type LookupFunction, type Socket } from 'node:net';
import type { buildConnector } from 'undici';
import { parseAllowHost } from '../../../server/relay/address-policy.ts';
import { RelayError, RelayErrorCode } from '../../../server/relay/errors.ts';
import { assertHostMayBeFetched, createGuardedConnector } from '../../../server/relay/guarded-connect.ts';
import { guardLoopbackOnly, startLocalServer, type LocalServer, type LoopbackGuard } from './local-server.ts';

let site: LocalServer;
let guard: LoopbackGuard;

before(async () => {
  guard = guardLoopbackOnly();
  site = await startLocalServer((_req, res) => res.end('ok'));
});

after(async () => {
  await site.close();
  guard.restore();
  assert.deepEqual(guard.violations, []);
});

function lookupTo(...addresses: string[]): LookupFunction {
  return (_hostname, _options, callback) => {
    process.nextTick(() => callback(null, addresses.map((address) => ({ address, family: net.isIP(address) }))));
  };
}

/**
 * Stands in for a network that sends the connection somewhere other than the
 * checked address (a rebinding resolver, a transparent proxy): whatever it is
 * asked for, it connects to the local site.
 */
function connectToSiteInstead(asked: string[]): buildConnector.connector {
  return (options, callback) => {
    asked.push(options.hostname);
    const socket = net.connect({ host: '127.0.0.1', port: site.port });
    socket.once('connect', () => callback(null, socket));
    socket.once('error', (error) => callback(error, null));
  };
}

function connectWith(connector: buildConnector.connector, hostname: string, port = '80'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    connector({ hostname, host: hostname, protocol: 'http:', port }, (...result) => {
      const [error, socket] = result;
      if (error) reject(error);
      else resolve(socket as Socket);
    });
  });
}

test('refuses a socket whose remote address turns out to be loopback, even though the name resolved to a public address', async () => {
  const asked: string[] = [];
  const connector = createGuardedConnector({
    allowHosts: [],
    lookup: lookupTo('93.184.215.14'),
    connectTimeoutMs: 1000,
    baseConnect: connectToSiteInstead(asked),
  });
  const error = await connectWith(connector, 'public.test').then(
    () => assert.fail('the socket should have been refused'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof RelayError);
  assert.equal(error.code, RelayErrorCode.RELAY_BLOCKED_ADDRESS);
  assert.match(error.message, /127\.0\.0\.1/);
  assert.deepEqual(asked, ['93.184.215.14'], 'it connected to the address it checked, not the name');
});

test('hands back the socket of an allowed host without checking its address', async () => {
  const asked: string[] = [];
  const connector = createGuardedConnector({
    allowHosts: [parseAllowHost('site.test')],
    lookup: lookupTo('127.0.0.1'),
    connectTimeoutMs: 1000,
    baseConnect: connectToSiteInstead(asked),
  });
  const socket = await connectWith(connector, 'site.test');
  assert.equal(socket.remoteAddress, '127.0.0.1');
  socket.destroy();
  assert.deepEqual(asked, ['127.0.0.1']);
});

test('refuses before connecting when one of several resolved addresses is private', async () => {
  const asked: string[] = [];
  const connector = createGuardedConnector({
    allowHosts: [],
    lookup: lookupTo('93.184.215.14', '10.1.2.3'),
    connectTimeoutMs: 1000,
    baseConnect: connectToSiteInstead(asked),
  });
  await assert.rejects(connectWith(connector, 'mixed.test'), { code: RelayErrorCode.RELAY_BLOCKED_ADDRESS });
  assert.deepEqual(asked, []);
});

test('the pre-dispatch check refuses IP literals and localhost names but leaves other names to the resolver', () => {
  assert.throws(() => assertHostMayBeFetched([], '[::1]', 80), { code: RelayErrorCode.RELAY_BLOCKED_ADDRESS });
  assert.throws(() => assertHostMayBeFetched([], 'api.localhost', 80), { code: RelayErrorCode.RELAY_BLOCKED_ADDRESS });
  assert.throws(() => assertHostMayBeFetched([], '10.0.0.1', 80), { code: RelayErrorCode.RELAY_BLOCKED_ADDRESS });
  assert.doesNotThrow(() => assertHostMayBeFetched([], 'example.com', 80));
  assert.doesNotThrow(() => assertHostMayBeFetched([], '93.184.215.14', 80));
  assert.doesNotThrow(() => assertHostMayBeFetched([parseAllowHost('[::1]:8080')], '[::1]', 8080));
  assert.throws(() => assertHostMayBeFetched([parseAllowHost('[::1]:8080')], '[::1]', 8081), { code: RelayErrorCode.RELAY_BLOCKED_ADDRESS });
  assert.throws(() => assertHostMayBeFetched([], 'example.com', 25), { code: RelayErrorCode.RELAY_BLOCKED_ADDRESS }, 'a bad port');
  assert.doesNotThrow(() => assertHostMayBeFetched([parseAllowHost('127.0.0.1')], '127.0.0.1', 6000), 'allowed hosts may use any port');
});
