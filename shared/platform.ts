// The few web-platform globals shared code uses at run time (timers, fetch,
// AbortController). They exist in browsers and in Node alike, but shared/ is
// type-checked against the ES library only, so this module types the parts we
// use and takes them from globalThis (declaring them globally would clash with
// the DOM and Node declarations where client/ and server/ include shared/).

export type TimerHandle = { readonly __timer: unique symbol };

export interface AbortSignalLike {
  readonly aborted: boolean;
}

export interface AbortControllerLike {
  readonly signal: AbortSignalLike;
  abort(): void;
}

export interface ResponseLike {
  readonly ok: boolean;
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}

export type FetchLike = (
  url: string,
  init: { headers: Record<string, string>; signal: AbortSignalLike; cache?: 'no-store'; method?: 'GET' | 'POST'; body?: string },
) => Promise<ResponseLike>;

interface Globals {
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
  AbortController: new () => AbortControllerLike;
  fetch: FetchLike;
  TextEncoder: new () => { encode(text: string): { readonly byteLength: number } };
  TextDecoder: new () => { decode(bytes: ArrayBuffer | Uint8Array): string };
}

const g = globalThis as unknown as Globals;

export const setTimer = (fn: () => void, ms: number): TimerHandle => g.setTimeout(fn, ms);
export const clearTimer = (handle: TimerHandle | undefined): void => g.clearTimeout(handle);
export const newAbortController = (): AbortControllerLike => new g.AbortController();
export const platformFetch: FetchLike = (url, init) => g.fetch(url, init);

/** The length of `text` in UTF-8 bytes (what it weighs on the wire). */
export const utf8Length = (text: string): number => new g.TextEncoder().encode(text).byteLength;

let utf8Decoder: { decode(bytes: ArrayBuffer | Uint8Array): string } | undefined;
/** UTF-8 bytes as text, as `Response.text()` decodes them (a BOM dropped, bad bytes replaced). */
export const decodeUtf8 = (bytes: ArrayBuffer | Uint8Array): string => (utf8Decoder ??= new g.TextDecoder()).decode(bytes);
