import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lineAt, locateJsonPath, parseJsonPath, syntaxErrorLine } from '../../client/admin/lib/json-path.ts';
import { jsonPath } from '../../shared/spec/schema.ts';

const SPEC = `{
  "name": "quotes \\"[0]\\" {x}",
  "startUrls": [
    "https://a.example/",
    "https://b.example/"
  ],
  "items": [
    {
      "selector": ".quote",
      "fields": {
        "bad name": { "selector": "" },
        "text": ".text"
      }
    }
  ]
}`;

/** The 1-based line where the value at a schema path (as parseSpec writes it) starts. */
function lineOf(path: string): number {
  return lineAt(SPEC, locateJsonPath(SPEC, parseJsonPath(path) ?? []));
}

test('parseJsonPath reads back the paths parseSpec writes', () => {
  const keys = ['items', 0, 'fields', 'bad name', 'selector'];
  assert.deepEqual(parseJsonPath(jsonPath(keys)), keys);
  assert.deepEqual(parseJsonPath('$'), []);
  assert.deepEqual(parseJsonPath('$.a["b \\"c\\""][12]'), ['a', 'b "c"', 12]);
  assert.equal(parseJsonPath('items[0]'), null);
  assert.equal(parseJsonPath('$.a[x]'), null);
});

test('locates object keys and array elements to the line of their value', () => {
  assert.equal(lineOf('$'), 1);
  assert.equal(lineOf('$.name'), 2);
  assert.equal(lineOf('$.startUrls'), 3);
  assert.equal(lineOf('$.startUrls[1]'), 5);
  assert.equal(lineOf('$.items[0].selector'), 9);
  assert.equal(lineOf('$.items[0].fields["bad name"].selector'), 11);
  assert.equal(lineOf('$.items[0].fields.text'), 12);
});

test('points at the value itself, not its key', () => {
  const text = '{"a": {"b": [10, 20]}}';
  assert.equal(locateJsonPath(text, ['a']), text.indexOf('{"b"'));
  assert.equal(locateJsonPath(text, ['a', 'b', 1]), text.indexOf('20'));
});

test('a path only partly there points at its deepest existing part', () => {
  assert.equal(lineOf('$.items[0].fields.missing'), 10);
  assert.equal(lineOf('$.startUrls[7]'), 3);
  assert.equal(lineOf('$.nothing.here'), 1);
  // A key where the text has an array (or an index where it has an object) goes no further.
  assert.equal(lineOf('$.startUrls.first'), 3);
  assert.equal(lineOf('$.items[0][0]'), 8);
});

test('keys are compared unescaped, and brackets inside strings are not structure', () => {
  const text = '{"x": "[{\\"", "k\\u0065y": [1, {"y": true}]}';
  assert.equal(locateJsonPath(text, ['key', 1, 'y']), text.indexOf('true'));
});

test('an empty or unparseable text locates to its start', () => {
  assert.equal(locateJsonPath('', ['a']), 0);
  assert.equal(locateJsonPath('   ', []), 0);
});

test('lineAt counts lines from 1 and stops at the end of the text', () => {
  assert.equal(lineAt('a\nb\nc', 0), 1);
  assert.equal(lineAt('a\nb\nc', 2), 2);
  assert.equal(lineAt('a\nb\nc', 99), 3);
});

test('syntaxErrorLine finds the line JSON.parse rejects', () => {
  const cases = [
    '{\n  "a": 1,\n  "b": 2,\n}', // trailing comma
    '{\n  "a": 1\n  "b": 2\n}', // missing comma
    '{\n  // a comment\n  "a": 1\n}',
    '{\n  "a": [1, 2\n}', // unclosed array: the line that leaves it open, not the brace after it
    '{\n  "a": tru\n}',
  ];
  const lines = cases.map((text) => {
    let message = '';
    try {
      JSON.parse(text);
    } catch (error) {
      message = (error as Error).message;
    }
    assert.notEqual(message, '', `JSON.parse accepts ${JSON.stringify(text)}`);
    return syntaxErrorLine(text, message);
  });
  assert.deepEqual(lines, [4, 3, 2, 3, 2]);
});

test('syntaxErrorLine falls back to the position in the message', () => {
  assert.equal(syntaxErrorLine('{"a": 1}', 'Unexpected token in JSON at position 3'), 1);
  assert.equal(syntaxErrorLine('{"a": 1}', 'Bad control character (line 7 column 2)'), 7);
  assert.equal(syntaxErrorLine('{"a": 1}', 'something else'), null);
});
