import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  ERROR_GROUPS,
  ERRORS,
  ErrorCode,
  HubError,
  RELAY_ERROR_CODES,
  SITEMAP_ERROR_CODES,
  SKIP_CODES,
  SOCKET_ERROR_CODES,
  WORKER_FAILURE_CODES,
  httpStatusOf,
  isErrorCode,
  recordedWorkerFailure,
  whatToDo,
  type ErrorInfo,
} from '../../shared/errors.ts';
import { failureSchema } from '../../shared/protocol.ts';
import { readSourceFiles } from '../helpers/source-files.ts';
import { ERRORS_DOC_PATH, renderErrorsDoc } from '../../scripts/errors-doc.ts';

const entries = Object.entries(ERRORS) as [string, ErrorInfo][];

test('every code is unique, shaped like a code, and documented with its group and what to do', () => {
  const seen = new Set<string>();
  for (const [code, info] of entries) {
    assert.match(code, /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/, code);
    assert.ok(!seen.has(code.toLowerCase()), `${code} twice`);
    seen.add(code.toLowerCase());
    assert.equal(ErrorCode[code as ErrorCode], code);
    assert.ok(Object.hasOwn(ERROR_GROUPS, info.group), `${code}: group ${info.group}`);
    assert.ok(info.meaning.length >= 10 && /[.!?)]$/.test(info.meaning), `${code}: meaning`);
    assert.ok(info.todo.length >= 5 && /[.!?)]$/.test(info.todo), `${code}: what to do`);
    if (info.status !== undefined) assert.ok(info.status >= 400 && info.status <= 599, `${code}: status ${info.status}`);
  }
  assert.equal(Object.keys(ErrorCode).length, entries.length);
});

test('each family of codes is in the catalogue, once', () => {
  for (const family of [SOCKET_ERROR_CODES, RELAY_ERROR_CODES, SKIP_CODES, SITEMAP_ERROR_CODES, WORKER_FAILURE_CODES]) {
    assert.equal(new Set<string>(family).size, family.length);
    for (const code of family) assert.ok(isErrorCode(code), code);
  }
  // Every relay failure is answered over HTTP, so it has a status.
  for (const code of RELAY_ERROR_CODES) assert.equal(httpStatusOf(code), 502, code);
});

test('a worker failure code is validated, and the code a page is recorded with is in the catalogue', () => {
  for (const code of WORKER_FAILURE_CODES) {
    assert.ok(isErrorCode(recordedWorkerFailure(code)), recordedWorkerFailure(code));
    assert.equal(failureSchema.safeParse({ leaseId: 'l', code, message: '' }).success, true);
  }
  assert.equal(failureSchema.safeParse({ leaseId: 'l', code: 'CRASHED', message: '' }).success, false);
  assert.equal(failureSchema.safeParse({ leaseId: 'l', code: 'WORKER_EXTRACT_FAILED', message: '' }).success, false);
});

test('HubError takes its HTTP status from the catalogue', () => {
  assert.equal(new HubError('CRAWL_STATE', 'x').status, 409);
  assert.equal(new HubError('CRAWL_UNKNOWN', 'x', 404).status, 404);
  assert.equal(new HubError('BAD_REQUEST', 'x').status, 400);
  assert.equal(whatToDo('CRAWL_UNKNOWN'), ERRORS.CRAWL_UNKNOWN.todo);
  assert.equal(whatToDo('A_NEWER_HUBS_CODE'), undefined);
});

/**
 * Code strings in the source: a quoted string shaped like a code with an
 * underscore, anywhere; a one-word one where it is used as a code. Other
 * libraries' codes and environment variable names are left out.
 */
const CODE_SHAPED = /(['"`])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\1/g;
const ONE_WORD_AS_CODE = [
  /\bcode\s*(?:===|!==|=|:|\?\?)\s*(['"`])([A-Z]{3,})\1/g,
  /\b(?:Error|fail|connectError|sendError|refuse)\(\s*(?:res,\s*)?(?:\d+,\s*)?(['"`])([A-Z]{3,})\1/g,
];
/** Node's and undici's error codes (ERR_…, UND_ERR_…, errnos such as ENOENT) and environment variables. */
const FOREIGN = /^(?:ERR_|UND_ERR|CROWDCRAWL_|E[A-Z]+$)/;

test('every code string used in server/, shared/ and client/ is in the catalogue', () => {
  const unknown: string[] = [];
  let found = 0;
  for (const file of readSourceFiles()) {
    for (const pattern of [CODE_SHAPED, ...ONE_WORD_AS_CODE]) {
      for (const match of file.text.matchAll(pattern)) {
        const code = match[2]!;
        if (FOREIGN.test(code)) continue;
        found++;
        if (!isErrorCode(code)) unknown.push(`${file.path}: ${code}`);
      }
    }
  }
  assert.ok(found > 50, `the scan found only ${found} codes: is it still reading the source?`);
  assert.deepEqual(unknown, [], 'codes missing from shared/errors.ts');
});

test('docs/errors.md is what scripts/errors-doc.ts writes from the catalogue', () => {
  const doc = readFileSync(ERRORS_DOC_PATH, 'utf8');
  for (const code of Object.keys(ERRORS)) assert.ok(doc.includes(`| \`${code}\` |`), `${code} is not in docs/errors.md`);
  assert.equal(doc, renderErrorsDoc(), 'docs/errors.md is stale: run node scripts/errors-doc.ts');
});
