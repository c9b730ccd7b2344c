import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { createGzip, gzipSync } from 'node:zlib';
import { RATIO_GRACE_BYTES, readBody } from '../../../server/relay/read-body.ts';
import { RelayError, RelayErrorCode } from '../../../server/relay/errors.ts';

const MIB = 1024 * 1024;

/** gzip of `total` zero bytes, made in 1 MiB pieces (never the whole input in memory). */
async function gzipOfZeros(total: number): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const parts: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => parts.push(chunk));
  const piece = Buffer.alloc(MIB);
  for (let left = total; left > 0; left -= MIB) if (!gzip.write(piece.subarray(0, Math.min(MIB, left)))) await new Promise((r) => gzip.once('drain', r));
  await new Promise((r) => gzip.end(r));
  return Buffer.concat(parts);
}

async function refusal(promise: Promise<unknown>): Promise<RelayError> {
  const error = await promise.then(() => assert.fail('the body should have been refused'), (caught: unknown) => caught);
  assert.ok(error instanceof RelayError, String(error));
  return error;
}

test('a 256 MiB gzip bomb is refused after about a mebibyte of decoding, far below the cap', async () => {
  const bomb = await gzipOfZeros(256 * MIB);
  assert.ok(bomb.length < MIB);
  const stageBytes: number[] = [];
  let pulled = 0;
  const source = Readable.from(
    (function* () {
      for (let at = 0; at < bomb.length; at += 1024) {
        pulled += Math.min(1024, bomb.length - at);
        yield bomb.subarray(at, at + 1024);
      }
    })(),
  );
  const error = await refusal(readBody(source, { contentEncoding: 'gzip', maxBodyBytes: 64 * MIB, signal: new AbortController().signal, stageBytes }));
  assert.equal(error.code, RelayErrorCode.RELAY_DECODED_TOO_LARGE);
  // Decoding stopped once the ratio was passed beyond the grace output (one zlib chunk more at most): ~1 of 256 MiB.
  assert.ok(stageBytes[1]! <= RATIO_GRACE_BYTES + 64 * 1024, `decoded ${stageBytes[1]} bytes before stopping`);
  assert.ok(pulled < bomb.length, 'the rest of the compressed body was never read');
});

test('every layer is counted: gzip, gzip gives the bytes of each stage', async () => {
  const page = Buffer.from('<!doctype html><p>' + 'hello '.repeat(1000));
  const stageBytes: number[] = [];
  const middle = gzipSync(page);
  const body = await readBody(Readable.from([gzipSync(middle)]), { contentEncoding: 'gzip, gzip', maxBodyBytes: MIB, signal: new AbortController().signal, stageBytes });
  assert.deepEqual(body, page);
  assert.deepEqual(stageBytes, [gzipSync(middle).length, middle.length, page.length]);
});

test('a short, very repetitive page is not judged by the ratio (below RATIO_GRACE_BYTES of output)', async () => {
  const page = Buffer.alloc(RATIO_GRACE_BYTES, 0x20);
  const body = await readBody(Readable.from([gzipSync(page)]), { contentEncoding: 'gzip', maxBodyBytes: 2 * MIB, signal: new AbortController().signal });
  assert.equal(body.length, page.length);
});
