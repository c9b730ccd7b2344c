// Reads a response body into memory, undoing its Content-Encoding, and stops
// as soon as it grows past the cap. Every stage is counted as it streams: the
// bytes as sent, and what each decoding layer puts out, each capped at
// maxBodyBytes, so neither a small gzip that inflates to gigabytes (a "zip
// bomb") nor a `gzip, gzip` body whose middle layer is 40 MB of padding (that
// the last layer ignores) gets further than the cap. Each layer may also grow
// its input at most maxCompressionRatio times (once it has put out
// RATIO_GRACE_BYTES): a bomb is refused after about a mebibyte of work, not
// after decoding up to the cap.
import { Duplex, Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { RelayError, RelayErrorCode } from './errors.ts';

export interface ReadBodyOptions {
  /** The Content-Encoding header, e.g. "gzip" or "deflate, br" (applied in that order). */
  contentEncoding: string | undefined;
  maxBodyBytes: number;
  /** A decoding layer putting out more than this many times what it took in is a bomb (default 100). */
  maxCompressionRatio?: number;
  signal: AbortSignal;
  /** Filled as the body streams: bytes as sent, then the output of each decoding layer (for tests and logs). */
  stageBytes?: number[];
}

/** Apache POI refuses zip entries past the same ratio (ZipSecureFile's minimum inflate ratio, 0.01). */
export const DEFAULT_MAX_COMPRESSION_RATIO = 100;

/** Below this much output a layer's ratio is not judged: short, very repetitive pages compress far better than 100×. */
export const RATIO_GRACE_BYTES = 1024 * 1024;

/** More layers than this is an attack, not a server (undici's fetch allows 5; browsers rarely see 2). */
const MAX_CONTENT_CODINGS = 3;

/** The Accept-Encoding the relay sends: every coding it can undo. */
export const ACCEPT_ENCODING = 'gzip, deflate, br';

// Lenient flushing as in browsers and curl: a body cut short after complete
// blocks still yields what it had instead of failing the whole page.
const ZLIB_LENIENT: zlib.ZlibOptions = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };

function tooLarge(maxBodyBytes: number, what: string): RelayError {
  return new RelayError(RelayErrorCode.RELAY_BODY_TOO_LARGE, `the ${what} body is larger than ${maxBodyBytes} bytes`);
}

export function parseContentCodings(header: string | undefined): string[] {
  if (header === undefined) return [];
  return header
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
}

/**
 * "deflate" is meant to be zlib-wrapped (RFC 9110), but some servers send raw
 * deflate. The first byte tells them apart (a zlib header's low nibble is 8),
 * as undici's fetch does; this decides on it without losing backpressure.
 */
function inflateEitherWrapping(onDecoderError: (error: Error) => void, engine: { inflate?: zlib.Inflate | zlib.InflateRaw }) {
  return async function* (source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    const iterator = source[Symbol.asyncIterator]();
    let first = await iterator.next();
    while (!first.done && first.value.length === 0) first = await iterator.next();
    if (first.done) return;
    const firstChunk: Buffer = first.value;
    const inflate = (firstChunk[0]! & 0x0f) === 0x08 ? zlib.createInflate(ZLIB_LENIENT) : zlib.createInflateRaw(ZLIB_LENIENT);
    engine.inflate = inflate;
    inflate.once('error', onDecoderError);
    async function* replay(): AsyncGenerator<Buffer> {
      yield firstChunk;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
    }
    // Ends (or fails) inflate when the replayed input does; iterating inflate below surfaces either.
    pipeline(Readable.from(replay()), inflate).catch(() => {});
    yield* inflate;
  };
}

/** A decoding layer, and how many input bytes its engine has taken so far (what its output is judged against). */
interface Decoder {
  stream: Duplex;
  consumed(): number;
}

function createDecoder(coding: string, onDecoderError: (error: Error) => void): Decoder {
  let decoder: zlib.Gunzip | zlib.BrotliDecompress | zlib.ZstdDecompress;
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      decoder = zlib.createGunzip(ZLIB_LENIENT);
      break;
    case 'deflate': {
      const engine: { inflate?: zlib.Inflate | zlib.InflateRaw } = {};
      return { stream: Duplex.from(inflateEitherWrapping(onDecoderError, engine)), consumed: () => engine.inflate?.bytesWritten ?? 0 };
    }
    case 'br':
      decoder = zlib.createBrotliDecompress({
        flush: zlib.constants.BROTLI_OPERATION_FLUSH,
        finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH,
      });
      break;
    case 'zstd':
      // Not asked for in Accept-Encoding, but undone when a server sends it anyway.
      // The window limit of RFC 9659 keeps one response from claiming gigabytes of memory.
      decoder = zlib.createZstdDecompress({ params: { [zlib.constants.ZSTD_d_windowLogMax]: 23 } });
      break;
    default:
      throw new RelayError(RelayErrorCode.RELAY_BAD_ENCODING, `unsupported Content-Encoding "${coding}"`);
  }
  decoder.once('error', onDecoderError);
  // bytesWritten: input the engine has processed, not input waiting in the stream's buffers.
  const engine = decoder;
  return { stream: decoder, consumed: () => engine.bytesWritten };
}

/**
 * Counts the bytes of one stage going by into stageBytes[stage], failing past
 * maxBytes, or, for a decoding layer's output, past ratio × the input its
 * engine has consumed.
 */
function stageMeter(stageBytes: number[], stage: number, maxBytes: number, what: string, ratioOf?: { ratio: number; consumed(): number }): Transform {
  stageBytes[stage] = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const seen = (stageBytes[stage] = stageBytes[stage]! + chunk.length);
      if (seen > maxBytes) return callback(tooLarge(maxBytes, what));
      if (ratioOf && seen > RATIO_GRACE_BYTES && seen > ratioOf.ratio * ratioOf.consumed()) {
        const message = `the ${what} body grew more than ${ratioOf.ratio} times (${seen} bytes from ${ratioOf.consumed()}): a compression bomb`;
        return callback(new RelayError(RelayErrorCode.RELAY_DECODED_TOO_LARGE, message));
      }
      callback(null, chunk);
    },
  });
}

/**
 * A body sent as it is (no Content-Encoding), read with plain stream events:
 * the same cap and the same errors as the pipeline below, without its
 * machinery (a Transform, a Writable, and an AbortController whose abort at
 * the end builds a DOMException with its stack: about 3 % of the hub's CPU
 * on a crawl, where every page came uncompressed).
 */
function readPlain(body: Readable, maxBodyBytes: number, signal: AbortSignal, stageBytes: number[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    stageBytes[0] = 0;
    const settle = (error?: unknown) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      body.off('data', onData);
      if (error === undefined) return resolve(Buffer.concat(chunks, total));
      body.destroy();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      stageBytes[0] = total;
      if (total > maxBodyBytes) settle(tooLarge(maxBodyBytes, 'response'));
      else chunks.push(chunk);
    };
    const onAbort = () => settle(signal.reason ?? new Error('aborted'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    // Stays on after settling: an error the stream emits later must not go unhandled.
    body.on('error', (error) => settle(error));
    body.once('end', () => settle());
    body.once('close', () => settle(Object.assign(new Error('premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' })));
    body.on('data', onData);
  });
}

/**
 * Resolves with the decoded body. Rejects with RELAY_BODY_TOO_LARGE when a
 * stage passes the cap, RELAY_DECODED_TOO_LARGE when a layer passes the
 * compression ratio, RELAY_BAD_ENCODING for an unknown coding or bytes that do not decode,
 * or the stream's own error (network failure, abort) otherwise.
 */
export async function readBody(body: Readable, options: ReadBodyOptions): Promise<Buffer> {
  const { maxBodyBytes, signal } = options;
  const ratio = options.maxCompressionRatio ?? DEFAULT_MAX_COMPRESSION_RATIO;
  const stageBytes = options.stageBytes ?? [];
  const codings = parseContentCodings(options.contentEncoding);
  if (codings.length === 0) return readPlain(body, maxBodyBytes, signal, stageBytes);
  // Once one stage fails, pipeline destroys the others with the same error, so
  // whoever failed FIRST tells a bad encoding from a broken connection.
  let firstFailure: { inDecoder: boolean; error: Error } | undefined;
  const onDecoderError = (error: Error) => {
    firstFailure ??= { inDecoder: true, error };
  };
  body.once('error', (error: Error) => {
    firstFailure ??= { inDecoder: false, error };
  });
  let decoders: Duplex[];
  try {
    if (codings.length > MAX_CONTENT_CODINGS) {
      throw new RelayError(RelayErrorCode.RELAY_BAD_ENCODING, `${codings.length} content codings; at most ${MAX_CONTENT_CODINGS} are undone`);
    }
    // Codings are listed in the order they were applied, so they are undone from the last.
    const undone = codings.toReversed();
    // body → meter(as sent) → decoder → meter(its output) → … → collect
    decoders = [stageMeter(stageBytes, 0, maxBodyBytes, 'compressed')];
    undone.forEach((coding, i) => {
      const what = i === undone.length - 1 ? 'decoded' : `${coding}-decoded (layer ${i + 1} of ${undone.length})`;
      const decoder = createDecoder(coding, onDecoderError);
      decoders.push(decoder.stream, stageMeter(stageBytes, i + 1, maxBodyBytes, what, { ratio, consumed: decoder.consumed }));
    });
  } catch (error) {
    body.destroy();
    throw error;
  }

  const chunks: Buffer[] = [];
  let decodedBytes = 0;
  const collect = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      decodedBytes += chunk.length;
      if (decodedBytes > maxBodyBytes) {
        callback(tooLarge(maxBodyBytes, 'decoded'));
        return;
      }
      chunks.push(chunk);
      callback();
    },
  });

  try {
    await pipeline([body, ...decoders, collect], { signal });
  } catch (error) {
    if (error instanceof RelayError || signal.aborted) throw error;
    if (firstFailure?.inDecoder) {
      const { error: decoderError } = firstFailure;
      throw new RelayError(RelayErrorCode.RELAY_BAD_ENCODING, `the ${codings.join(', ')} body does not decode: ${decoderError.message}`, {
        cause: decoderError,
      });
    }
    throw error;
  }
  return Buffer.concat(chunks, decodedBytes);
}
