// Reads a response body into memory, undoing its Content-Encoding, and stops
// as soon as it grows past the cap. The decoded size is counted as it streams,
// so a small gzip that inflates to gigabytes (a "zip bomb") is cut off after
// maxBodyBytes, not after it has filled the memory. The bytes as sent are
// capped at the same size: compressed bodies are smaller than what they
// decode to, unless they are padding meant to keep the relay busy.
import { Duplex, Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { RelayError, RelayErrorCode } from './errors.ts';

export interface ReadBodyOptions {
  /** The Content-Encoding header, e.g. "gzip" or "deflate, br" (applied in that order). */
  contentEncoding: string | undefined;
  maxBodyBytes: number;
  signal: AbortSignal;
}

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
function inflateEitherWrapping(onDecoderError: (error: Error) => void) {
  return async function* (source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    const iterator = source[Symbol.asyncIterator]();
    let first = await iterator.next();
    while (!first.done && first.value.length === 0) first = await iterator.next();
    if (first.done) return;
    const firstChunk: Buffer = first.value;
    const inflate = (firstChunk[0]! & 0x0f) === 0x08 ? zlib.createInflate(ZLIB_LENIENT) : zlib.createInflateRaw(ZLIB_LENIENT);
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

function createDecoder(coding: string, onDecoderError: (error: Error) => void): Duplex {
  let decoder: Transform;
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      decoder = zlib.createGunzip(ZLIB_LENIENT);
      break;
    case 'deflate':
      return Duplex.from(inflateEitherWrapping(onDecoderError));
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
  return decoder;
}

/** Passes bytes through, failing once more than maxBytes have gone by. */
function byteCap(maxBytes: number, what: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > maxBytes) callback(tooLarge(maxBytes, what));
      else callback(null, chunk);
    },
  });
}

/**
 * Resolves with the decoded body. Rejects with RELAY_BODY_TOO_LARGE past the
 * cap, RELAY_BAD_ENCODING for an unknown coding or bytes that do not decode,
 * or the stream's own error (network failure, abort) otherwise.
 */
export async function readBody(body: Readable, options: ReadBodyOptions): Promise<Buffer> {
  const { maxBodyBytes, signal } = options;
  const codings = parseContentCodings(options.contentEncoding);
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
    decoders = codings.toReversed().map((coding) => createDecoder(coding, onDecoderError));
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
        callback(tooLarge(maxBodyBytes, codings.length > 0 ? 'decoded' : 'response'));
        return;
      }
      chunks.push(chunk);
      callback();
    },
  });

  try {
    if (codings.length === 0) await pipeline(body, collect, { signal });
    else await pipeline([body, byteCap(maxBodyBytes, 'compressed'), ...decoders, collect], { signal });
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
