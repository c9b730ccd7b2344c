// Bans and trust records across a fleet (docs/scale-out.md): two in-process
// hubs on one PostgreSQL database. A ban made on one hub holds on the other
// from its next heartbeat (its sessions of the banned browser are closed), and
// lifting it does too; two hubs' changes to one contributor's record add up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHub, tempDir, type TestHub } from '../../helpers/hub.ts';
import { openTestStore } from '../../helpers/backends.ts';
import { connectRawWorker } from '../../helpers/raw-worker.ts';
import type { Storage } from '../../../server/storage/storage.ts';
import type { Contributor } from '../../../server/validate/trust.ts';

async function twoHubs() {
  const store = await openTestStore('PostgreSQL');
  const dirB = tempDir();
  const a = await startTestHub({ ...store.hubOptions(), databaseUrl: store.databaseUrl! });
  let b: TestHub<Storage>;
  try {
    b = await startTestHub({ dataDir: dirB.path, databaseUrl: store.databaseUrl! });
  } catch (error) {
    await a.cleanup();
    throw error;
  }
  return {
    store, a, b,
    async close() {
      await b.cleanup();
      await a.cleanup();
      dirB.remove();
      await store.remove();
    },
  };
}

test('a ban made on one hub holds on the other from its next heartbeat: its session of the browser is closed; lifted, it is lifted there too', async () => {
  const { a, b, close } = await twoHubs();
  try {
    const cheat = await connectRawWorker(b.url, { clientId: 'cheat-one-0123456789' });
    const closed = new Promise<void>((resolve) => cheat.socket.on('disconnect', () => resolve()));
    assert.equal(await a.engine.ban({ clientId: 'cheat-one-0123456789' }, 'caught on a'), 0, 'a has no session of it');
    assert.equal(b.engine.isBanned('cheat-one-0123456789', '10.9.9.9'), false, 'b learns of it on its heartbeat');
    await b.fleet.beat();
    assert.equal(b.engine.isBanned('cheat-one-0123456789', '10.9.9.9'), true);
    await closed;
    assert.equal(b.engine.workers.size, 0, 'its session on b is closed');
    await a.engine.ban({ address: '10.1.2.3' });
    await b.fleet.beat();
    assert.equal(b.engine.isBanned('someone', '10.1.2.3'), true, 'address bans too');
    assert.equal(await a.engine.trust.unban('client', 'cheat-one-0123456789'), true);
    await b.fleet.beat();
    assert.equal(b.engine.isBanned('cheat-one-0123456789', '10.9.9.9'), false, 'lifted on a: lifted on b');
    assert.deepEqual(b.engine.trust.bans.list().map((r) => r.value), ['10.1.2.3']);
    cheat.close();
  } finally {
    await close();
  }
});

test('two hubs\' changes to one contributor\'s record add up; each hub, storing its own, gets the fleet\'s figures back', async () => {
  const { store, a, b, close } = await twoHubs();
  try {
    const ann: Contributor = { workerId: 'w', clientId: 'ann', address: '10.0.0.7', name: 'Ann', operatorTrusted: false };
    const now = Date.now();
    for (let i = 0; i < 3; i++) a.engine.trust.trust.valid(ann, now);
    for (let i = 0; i < 2; i++) b.engine.trust.trust.valid(ann, now);
    b.engine.trust.trust.trusted(ann, now);
    await Promise.all([a.engine.trust.flush(), b.engine.trust.flush()]);
    const rows = await store.query<{ key: string; checked: number; valid: number; trusted: number; consecutive_valid: number }>(
      'SELECT key, checked, valid, trusted, consecutive_valid FROM trust ORDER BY key',
    );
    assert.deepEqual(rows, [
      { key: 'address:10.0.0.7', checked: 5, valid: 5, trusted: 1, consecutive_valid: 5 },
      { key: 'client:ann', checked: 5, valid: 5, trusted: 1, consecutive_valid: 5 },
    ], 'no hub overwrote the other\'s counts');
    // A wrong result on a: the run starts again fleet-wide, and b's next valid result adds to it.
    a.engine.trust.trust.invalid(ann, now, 'wrong');
    await a.engine.trust.flush();
    b.engine.trust.trust.valid(ann, now);
    await b.engine.trust.flush();
    const row = b.engine.trust.trust.get('client:ann')!;
    assert.deepEqual([row.checked, row.valid, row.invalid, row.strikes, row.consecutiveValid, row.lastReason], [7, 6, 1, 1, 1, 'wrong'], 'b holds the fleet\'s record');
  } finally {
    await close();
  }
});
