// Access to the WHATWG URL parser for code in shared/.
//
// `URL` is a global in browsers and in Node, but shared/ is type-checked with the
// ES2023 library only (neither DOM nor Node types), where `URL` is not declared.
// Declaring it globally would clash with the DOM and Node declarations when
// client/, server/ and test/ include shared/, so this module describes the part
// of the interface we use and takes the constructor from globalThis.

/** The parts of a WHATWG URL record that shared code reads (and `hash`, which it clears). */
export interface WhatwgUrl {
  readonly href: string;
  readonly protocol: string;
  readonly username: string;
  readonly password: string;
  /** Host name plus ":port" when the port is not the scheme's default. */
  readonly host: string;
  /** IPv6 addresses keep their brackets: "[::1]". */
  readonly hostname: string;
  readonly port: string;
  readonly pathname: string;
  readonly search: string;
  hash: string;
}

interface WhatwgUrlConstructor {
  new (input: string, base?: string): WhatwgUrl;
}

const UrlConstructor = (globalThis as unknown as { URL: WhatwgUrlConstructor }).URL;

/** Parses `input` (relative to `base` when given) like a browser does; null when it cannot be parsed. */
export function parseUrl(input: string, base?: string): WhatwgUrl | null {
  try {
    return base === undefined ? new UrlConstructor(input) : new UrlConstructor(input, base);
  } catch {
    return null;
  }
}
