// JSON paths as parseSpec writes them ($.items[0].fields["bad name"]) turned
// back into keys, and found in the JSON text the operator typed, so the JSON
// editor can point at the line of the value at fault.

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
 * deepest part of the path that exists starts. The text must be valid JSON.
 */
export function locateJsonPath(text: string, path: readonly PathSegment[]): number {
  let pos = 0;
  const skipSpace = () => {
    while (pos < text.length && /\s/.test(text[pos]!)) pos++;
  };
  const skipString = () => {
    pos++; // opening quote
    while (pos < text.length && text[pos] !== '"') pos += text[pos] === '\\' ? 2 : 1;
    pos++;
  };
  const readString = (): string => {
    const start = pos;
    skipString();
    return JSON.parse(text.slice(start, pos)) as string;
  };
  const skipValue = (): void => {
    skipSpace();
    const c = text[pos];
    if (c === '"') return skipString();
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      pos++;
      skipSpace();
      if (text[pos] === close) {
        pos++;
        return;
      }
      for (;;) {
        skipSpace();
        if (c === '{') {
          skipString();
          skipSpace();
          pos++; // colon
        }
        skipValue();
        skipSpace();
        if (text[pos] === ',') pos++;
        else {
          pos++; // the closing bracket
          return;
        }
      }
    }
    while (pos < text.length && !/[\s,\]}]/.test(text[pos]!)) pos++;
  };

  skipSpace();
  let found = pos;
  for (const segment of path) {
    const c = text[pos];
    if (c === '{' && typeof segment === 'string') {
      pos++;
      let hit = false;
      for (;;) {
        skipSpace();
        if (text[pos] !== '"') break;
        const key = readString();
        skipSpace();
        pos++; // colon
        skipSpace();
        if (key === segment) {
          hit = true;
          break;
        }
        skipValue();
        skipSpace();
        if (text[pos] === ',') pos++;
        else break;
      }
      if (!hit) return found;
    } else if (c === '[' && typeof segment === 'number') {
      pos++;
      skipSpace();
      if (text[pos] === ']') return found;
      let hit = false;
      for (let i = 0; ; i++) {
        skipSpace();
        if (i === segment) {
          hit = true;
          break;
        }
        skipValue();
        skipSpace();
        if (text[pos] === ',') pos++;
        else break;
      }
      if (!hit) return found;
    } else return found;
    found = pos;
  }
  return found;
}

/** 1-based line of an offset. */
export function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text[i] === '\n') line++;
  return line;
}

/** The 1-based line of a JSON syntax error, from the engine's message ("... at position 42" or "(line 3 column 5)"). */
export function syntaxErrorLine(text: string, message: string): number | null {
  const lineCol = /line (\d+) column \d+/.exec(message);
  if (lineCol) return Number(lineCol[1]);
  const position = /position (\d+)/.exec(message);
  if (position) return lineAt(text, Number(position[1]));
  return null;
}
