// The Node worker's relay requests: undici's request() behind the worker
// loop's small fetch interface. The WHATWG fetch builds web streams, Headers
// and a Response per page; with 16 pages in flight that garbage outlived young
// collections and was promoted, and was the larger part of a Node worker's
// peak RSS on a docs-sized crawl (docs/performance.md, "Hub").
import type { Agent } from 'undici';
import type { FetchLike, ResponseLike } from '../../shared/platform.ts';

export function requestFetch(agent: Agent): FetchLike {
  return async (url, init) => {
    const target = new URL(url);
    const response = await agent.request({
      origin: target.origin,
      path: `${target.pathname}${target.search}`,
      method: init.method ?? 'GET',
      headers: init.body === undefined ? init.headers : { ...init.headers, 'content-length': String(Buffer.byteLength(init.body)) },
      ...(init.body === undefined ? {} : { body: init.body }),
      signal: init.signal as AbortSignal,
    });
    // A body the loop never reads (its job was aborted when the hub went away)
    // errors when its connection dies: with no listener that error would throw
    // from the stream. A body that is read still reports it through text().
    response.body.on('error', () => {});
    const headers = response.headers;
    const reply: ResponseLike = {
      ok: response.statusCode >= 200 && response.statusCode < 300,
      status: response.statusCode,
      headers: {
        get(name: string) {
          const value = headers[name.toLowerCase()];
          return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
        },
      },
      text: () => response.body.text(),
    };
    return reply;
  };
}
