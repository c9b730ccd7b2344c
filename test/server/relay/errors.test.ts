import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRetryable, parseRetryAfterMs, RelayError, RelayErrorCode } from '../../../server/relay/errors.ts';

test('HTTP statuses that mean "not now" are retryable, others are not', () => {
  for (const status of [408, 425, 429, 500, 502, 503, 504]) assert.equal(isRetryable(RelayErrorCode.RELAY_HTTP_STATUS, status), true, String(status));
  for (const status of [400, 401, 403, 404, 410, 451, 501]) assert.equal(isRetryable(RelayErrorCode.RELAY_HTTP_STATUS, status), false, String(status));
});

test('network trouble is retryable; refusals are not', () => {
  for (const code of [RelayErrorCode.RELAY_DNS_FAILED, RelayErrorCode.RELAY_CONNECT_FAILED, RelayErrorCode.RELAY_TIMEOUT]) assert.equal(isRetryable(code), true, code);
  for (const code of [
    RelayErrorCode.RELAY_BAD_URL,
    RelayErrorCode.RELAY_BAD_SCHEME,
    RelayErrorCode.RELAY_BLOCKED_ADDRESS,
    RelayErrorCode.RELAY_TOO_MANY_REDIRECTS,
    RelayErrorCode.RELAY_REDIRECT_LOOP,
    RelayErrorCode.RELAY_BODY_TOO_LARGE,
    RelayErrorCode.RELAY_CONTENT_TYPE,
    RelayErrorCode.RELAY_BAD_ENCODING,
    RelayErrorCode.RELAY_ABORTED,
  ]) {
    assert.equal(isRetryable(code), false, code);
  }
});

test('a RelayError takes its retryability from its code and status unless told', () => {
  const busy = new RelayError(RelayErrorCode.RELAY_HTTP_STATUS, 'busy', { status: 503, retryAfterMs: 5000 });
  assert.equal(busy.retryable, true);
  assert.equal(busy.status, 503);
  assert.equal(busy.retryAfterMs, 5000);
  assert.equal(busy.name, 'RelayError');
  assert.equal(new RelayError(RelayErrorCode.RELAY_TIMEOUT, 'slow', { retryable: false }).retryable, false);
});

test('reads Retry-After as seconds or as an HTTP date', () => {
  const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
  assert.equal(parseRetryAfterMs('120', now), 120_000);
  assert.equal(parseRetryAfterMs(' 0 ', now), 0);
  assert.equal(parseRetryAfterMs('Wed, 21 Oct 2015 07:30:00 GMT', now), 120_000);
  assert.equal(parseRetryAfterMs('Wed, 21 Oct 2015 07:00:00 GMT', now), 0, 'a date in the past means now');
  assert.equal(parseRetryAfterMs('soon', now), undefined);
  assert.equal(parseRetryAfterMs('-5', now), undefined);
  assert.equal(parseRetryAfterMs(undefined, now), undefined);
});
