// JSON paths as parseSpec writes them ($.items[0].fields["bad name"]) turned
// back into keys, and found in the JSON text the operator typed, so the JSON
// editor can point at the line of the value at fault. jsonc-parser (the parser
// of VS Code's JSON editor) reads the JSON text, with the offset of every value.

import { findNodeAtLocation, parse, parseTree, type ParseError } from 'jsonc-parser';

export type PathSegment = string | number;

/** `$.a[0]["b c"]` → ['a', 0, 'b c']; null when the text is not such a path. */
export function parseJsonPath(path: string): PathSegment[] | null {
  if (!path.startsWith('$')) return null;
  const out: PathSegment[] = [];
  let i = 1;
  while (i < path.length) {
    if (path[i] === '.') {
      const match = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(path.slice(i + 1));
      if (!match) return null;
      out.push(match[0]);
      i += 1 + match[0].length;
    } else if (path[i] === '[') {
      const rest = path.slice(i);
      const index = /^\[(\d+)\]/.exec(rest);
      if (index) {
        out.push(Number(index[1]));
        i += index[0].length;
        continue;
      }
      const quoted = /^\[("(?:[^"\\]|\\.)*")\]/.exec(rest);
      if (!quoted) return null;
      out.push(JSON.parse(quoted[1]!) as string);
      i += quoted[0].length;
    } else return null;
  }
  return out;
}

/**
 * Where the value at `path` starts in a JSON text (an offset), or where the
 * deepest part of the path that exists starts; 0 when the text has no value.
 */
export function locateJsonPath(text: string, path: readonly PathSegment[]): number {
  let node = parseTree(text);
  if (!node) return 0;
  for (const segment of path) {
    // One step at a time, since findNodeAtLocation gives nothing for a path
    // that is only partly there and the editor wants its deepest existing part.
    const next = findNodeAtLocation(node, [segment]);
    if (!next) break;
    node = next;
  }
  return node.offset;
}

/** 1-based line of an offset. */
export function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text[i] === '\n') line++;
  return line;
}

/**
 * The 1-based line of a JSON syntax error: where jsonc-parser, told to be as
 * strict as JSON.parse, first stumbles; else from the engine's message
 * ("... at position 42" or "(line 3 column 5)").
 */
export function syntaxErrorLine(text: string, message: string): number | null {
  const errors: ParseError[] = [];
  parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  if (errors[0]) return lineAt(text, errors[0].offset);
  const lineCol = /line (\d+) column \d+/.exec(message);
  if (lineCol) return Number(lineCol[1]);
  const position = /position (\d+)/.exec(message);
  if (position) return lineAt(text, Number(position[1]));
  return null;
}
