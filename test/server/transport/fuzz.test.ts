// 10,000 random malformed socket events from a seeded PRNG, over a few real
// socket.io connections, at a hub with stored data: unknown events, wrong
// types, huge strings, nested junk, missing acks, bad lease ids, prototype
// pollution keys, binary where JSON goes. Afterwards the hub still answers,
// an honest worker still works, and every table of the database hashes the
// same as before.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startFixtureServer } from '../../fixtures/site/server.ts';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { intBetween, seededRandom } from '../../fixtures/site/random.ts';
import { quotesSpec, startTestHub, startWorkers, waitForCrawlEnd, TEST_ADMIN_TOKEN } from '../../helpers/hub.ts';
import { connectRawWorker, type RawWorker } from '../../helpers/raw-worker.ts';
import type { SqliteStorage } from '../../../server/storage/sqlite/sqlite-storage.ts';

const EVENTS = 10_000;
const SOCKETS = 4;
const SEED = 0x5eed10;

type Server = Awaited<ReturnType<typeof startFixtureServer>>;
let site: Server;
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: 5 }));
});
after(() => site.close());

/**
 * sha256 of every table's rows, each table's rows sorted, so the hash says whether anything stored changed.
 * Not the fleet's registry (`hubs`): the hub's own heartbeat rewrites it every few seconds, whatever workers send.
 */
function databaseHash(storage: SqliteStorage): string {
  const hash = createHash('sha256');
  const tables = storage.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'hubs' ORDER BY name").all() as { name: string }[];
  for (const { name } of tables) {
    const rows = storage.db.prepare(`SELECT * FROM "${name.replace(/"/g, '""')}"`).all();
    const lines = rows.map((row) => JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v))).sort();
    hash.update(`${name}\n${lines.join('\n')}\n`);
  }
  return hash.digest('hex');
}

/** Runs a board round now and waits for its write: the board keeps contributors' totals in memory between rounds. */
async function settleBoard(hub: Awaited<ReturnType<typeof startTestHub>>): Promise<void> {
  hub.board.tick();
  await (hub.board as unknown as { persisting?: Promise<void> }).persisting;
}

const KNOWN = ['capacity', 'spec:get', 'result', 'failure', 'release'];
const NASTY_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'then', 'leaseId', 'items', 'links', 'data', 'type', ''];
const NASTY_STRINGS = ['', ' ', '\u0000', '\u202e', '\ud800', 'null', 'undefined', 'NaN', '__proto__', '../../etc/passwd', 'javascript:alert(1)', 'http://169.254.169.254/', '%00', '<script>', "'; DROP TABLE items; --"];

function junkMaker(random: () => number, leaseIds: () => string[], crawlIds: string[]) {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  /** One huge string and ten binary parts per event at most (see below). */
  let hugeLeft = 1;
  let buffersLeft = 10;
  const string = (): string => {
    const r = random();
    if (r < 0.3) return pick(NASTY_STRINGS);
    if (r < 0.35) return pick(leaseIds().length ? leaseIds() : ['x']);
    if (r < 0.4) return pick(crawlIds);
    // Rare huge strings, below the message limit (a larger message only closes the connection).
    if (r < 0.45 && hugeLeft-- > 0) return 'x'.repeat(intBetween(random, 10_000, 800_000));
    const length = intBetween(random, 0, 80);
    let out = '';
    for (let i = 0; i < length; i++) out += String.fromCharCode(intBetween(random, 0, random() < 0.9 ? 0x7f : 0xffff));
    return out;
  };
  const number = (): number => pick([0, -0, -1, 1, 256, 257, 1e308, -1e308, 2 ** 53, Number.MAX_SAFE_INTEGER + 2, 0.5, Math.floor(random() * 1e6), NaN, Infinity]);
  const value = (depth: number): unknown => {
    const r = random();
    if (r < 0.1) return null;
    if (r < 0.15) return undefined;
    if (r < 0.2) return random() < 0.5;
    if (r < 0.35) return number();
    if (r < 0.6 || depth > 4) return string();
    if (r < 0.63 && buffersLeft-- > 0) return Buffer.from(string().slice(0, 64));
    if (r < 0.8) return Array.from({ length: intBetween(random, 0, depth === 0 ? 20 : 5) }, () => value(depth + 1));
    return object(depth + 1);
  };
  const object = (depth: number): Record<string, unknown> => {
    // JSON.parse makes own "__proto__" keys, as a hostile client's JSON would have.
    const entries = Array.from({ length: intBetween(random, 0, 6) }, () => [random() < 0.5 ? pick(NASTY_KEYS) : string().slice(0, 40), value(depth)]);
    const out = JSON.parse('{}') as Record<string, unknown>;
    for (const [key, v] of entries) Object.defineProperty(out, key as string, { value: v, enumerable: true, writable: true, configurable: true });
    return out;
  };
  /** A payload shaped almost like the real one, with one thing wrong (or many). */
  const nearMiss = (event: string): unknown => {
    const leaseId = random() < 0.7 ? string().slice(0, 70) : value(1);
    switch (event) {
      case 'result':
        return { leaseId, items: random() < 0.5 ? [{ type: value(2), data: object(2) }] : value(1), links: random() < 0.5 ? [value(2), string()] : value(1), ...(random() < 0.3 ? object(1) : {}) };
      case 'failure':
        return { leaseId, code: random() < 0.5 ? 'EXTRACT_FAILED' : value(1), message: value(1) };
      case 'release':
        // Long lists (past the schema's 1000) of mostly cheap junk.
        return { leaseIds: random() < 0.5 ? Array.from({ length: intBetween(random, 0, random() < 0.2 ? 1100 : 20) }, () => (random() < 0.8 ? pick(NASTY_STRINGS) : value(3))) : value(1) };
      case 'capacity':
        return { capacity: random() < 0.5 ? number() : value(1) };
      default:
        return { crawlId: random() < 0.5 ? pick(crawlIds) : value(1) };
    }
  };
  /**
   * One event: its name and its arguments (the ack, when there is one, is added
   * by the sender). Below the message limit (a larger message only closes the
   * connection: result-upload.test.ts), and at most 10 binary parts (socket.io's
   * parser closes the connection on more: a protocol error, not a payload).
   */
  return (): { event: string; args: unknown[]; ack: boolean } => {
    // About one event in fifty carries a huge string.
    hugeLeft = random() < 0.02 ? 1 : 0;
    buffersLeft = 10;
    return make();
  };
  function make(): { event: string; args: unknown[]; ack: boolean } {
    const r = random();
    const event = r < 0.75 ? pick(KNOWN) : r < 0.85 ? pick(NASTY_KEYS) || 'x' : string().slice(0, 100) || 'y';
    const args = random() < 0.6 ? [nearMiss(event)] : Array.from({ length: intBetween(random, 0, 3) }, () => value(0));
    return { event, args, ack: random() < 0.8 };
  }
}

const RESERVED = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);

test('10,000 random malformed events: the hub stays up, answers every one, and its stored data is unchanged', { timeout: 180_000 }, async () => {
  const hub = await startTestHub({
    validation: { replicaWaitMs: 0 },
    // Let every event through the rate limits, so each one reaches the handlers.
    transport: { rateLimit: { windowMs: 1000, eventsPerSocket: 10_000_000, eventsPerAddress: 10_000_000, refusalsBeforeDisconnect: 0 } },
  });
  try {
    // Stored data: a finished crawl with items, and a paused one.
    const done = await hub.engine.createCrawl(quotesSpec(site.origin));
    const [honest] = await startWorkers(hub.url, 1);
    await waitForCrawlEnd(hub, done.id);
    await honest!.stop();
    assert.equal(await hub.storage.countItems(done.id), 50);
    const paused = await hub.engine.createCrawl(quotesSpec(site.origin, { name: 'paused' }));
    await hub.engine.control(paused.id, 'pause');
    await settleBoard(hub);
    const before = databaseHash(hub.storage);
    const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();

    const random = seededRandom(SEED);
    const sockets: RawWorker[] = [];
    const connect = async (i: number) => connectRawWorker(hub.url, {}, { localAddress: `127.0.0.${10 + (i % SOCKETS)}` });
    for (let i = 0; i < SOCKETS; i++) sockets.push(await connect(i));
    const leaseIds = () => sockets.flatMap((s) => s.leases.map((l) => l.id));
    const nextEvent = junkMaker(random, leaseIds, [done.id, paused.id]);

    let answered = 0;
    let withAck = 0;
    let reconnects = 0;
    const answers = new Map<string, number>();
    for (let sent = 0; sent < EVENTS; ) {
      // A batch over every socket, then wait for all its acks.
      const batch: Promise<void>[] = [];
      for (let k = 0; k < 200 && sent < EVENTS; k++, sent++) {
        const index = sent % SOCKETS;
        if (!sockets[index]!.socket.connected) {
          reconnects++;
          sockets[index] = await connect(index);
        }
        const { event, args, ack } = nextEvent();
        if (RESERVED.has(event)) continue;
        const socket = sockets[index]!.socket as unknown as { timeout(ms: number): { emit(event: string, ...args: unknown[]): void }; emit(event: string, ...args: unknown[]): void };
        if (!ack) {
          socket.emit(event, ...args);
          continue;
        }
        withAck++;
        batch.push(
          new Promise<void>((resolve, reject) => {
            socket.timeout(10_000).emit(event, ...args, (error: Error | null, reply: { ok?: boolean; error?: { code?: string } }) => {
              if (error) return reject(new Error(`no answer to "${event}": ${error.message}`));
              answered++;
              const code = reply?.ok ? 'ok' : String(reply?.error?.code);
              answers.set(code, (answers.get(code) ?? 0) + 1);
              resolve();
            });
          }),
        );
      }
      await Promise.all(batch);
    }
    assert.equal(answered, withAck, 'every event with an ack was answered');
    assert.equal(reconnects, 0, 'no malformed event (below the size limit) cost a connection');
    // Every refusal carries a catalogue code; nothing failed inside the hub.
    assert.equal(answers.get('INTERNAL'), undefined, JSON.stringify([...answers]));
    assert.equal(answers.get('undefined'), undefined, JSON.stringify([...answers]));
    for (const s of sockets) s.close();

    // Nothing leaked into Object.prototype, nothing stored changed, and the hub answers.
    assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), prototypeKeys);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    await settleBoard(hub);
    assert.equal(databaseHash(hub.storage), before);
    const res = await fetch(`${hub.url}/api/crawls`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    assert.equal(res.status, 200);
    // An honest worker can still work.
    await hub.engine.control(paused.id, 'resume');
    const [worker] = await startWorkers(hub.url, 1);
    const summary = await waitForCrawlEnd(hub, paused.id);
    assert.equal(summary.pagesDone, 5);
    assert.equal(await hub.storage.countItems(paused.id), 50);
    await worker!.stop();
  } finally {
    await hub.cleanup();
  }
});
