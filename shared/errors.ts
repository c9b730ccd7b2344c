// Every error code crowdcrawl hands to anyone, in one catalogue: what socket
// replies, `hub:error` events, handshake refusals, admin API error bodies and
// relay refusals carry, what pages are recorded as failed or skipped with, and
// what the CLI, the console and the worker loop report. The strings are stable
// API (clients, scripts and stored pages use them): add codes, never rename one.
// Like undici's and Crawlee's errors, each code says what the one who meets it
// should do (its group), so callers decide on the group, not on each code.
// docs/errors.md is made from this file (scripts/errors-doc.ts); a test keeps both in step.

/** What the caller should do about an error. */
export const ERROR_GROUPS = {
  retry: 'Try again later: the same request may succeed (the hub retries pages itself).',
  fix: 'Fix the request: it fails the same way until what was sent changes.',
  'give-up': 'Give up on this one: it cannot be done (drop the lease; the page is recorded as failed or skipped).',
  operator: "The hub's operator must act: set-up, configuration or a bug; see the hub's log.",
} as const;
export type ErrorGroup = keyof typeof ERROR_GROUPS;

/** Where a code is met, for the docs. */
export type ErrorArea = 'socket' | 'http' | 'relay' | 'page' | 'worker' | 'cli';

export interface ErrorInfo {
  readonly group: ErrorGroup;
  readonly area: ErrorArea;
  /** The HTTP status it is answered with, for codes that go out in an HTTP answer. */
  readonly status?: number;
  readonly meaning: string;
  readonly todo: string;
}

export const ERRORS = {
  // The worker socket, the board and the admin feed (Socket.IO replies and refusals).
  BAD_REQUEST: { group: 'fix', area: 'socket', status: 400, meaning: 'A payload, handshake or parameter does not have the expected shape.', todo: 'Send what the message describes; the protocol is in shared/protocol.ts, the API in docs/admin.md.' },
  PROTOCOL_MISMATCH: { group: 'fix', area: 'socket', status: 400, meaning: 'The worker or page speaks another protocol version than the hub.', todo: 'Reload the page or update the worker to the hub\'s version.' },
  BANNED: { group: 'operator', area: 'socket', status: 403, meaning: "This browser (its client id) or its address is banned: by the hub's operator, or after too many wrong results.", todo: 'Stop connecting; only the operator can lift a ban (console: Contributors).' },
  WORKER_TOKEN_UNKNOWN: { group: 'fix', area: 'socket', status: 401, meaning: "The worker token in the handshake is not one this hub's operator issued (or it was revoked).", todo: 'Ask the operator for a token (console: Contributors), or connect without one as an ordinary contributor.' },
  LEASE_UNKNOWN: { group: 'give-up', area: 'socket', status: 404, meaning: 'No such lease, or it has ended (done, released or revoked).', todo: 'Drop the lease and take the next one.' },
  LEASE_NOT_YOURS: { group: 'give-up', area: 'socket', status: 403, meaning: 'The lease belongs to another worker, or the worker secret is missing or wrong.', todo: "Send the welcome event's worker secret; drop leases that are not yours." },
  LEASE_EXPIRED: { group: 'give-up', area: 'socket', status: 410, meaning: 'The lease ran out before its result came; its URL went back to the queue.', todo: 'Drop the lease; work faster or take fewer leases at once.' },
  LEASE_NOT_FETCHED: { group: 'fix', area: 'socket', status: 409, meaning: 'A result came for a page not fetched through the relay.', todo: 'Fetch the page through the relay before sending its result.' },
  SPEC_VERSION_UNKNOWN: { group: 'give-up', area: 'socket', status: 404, meaning: 'spec:get asked for a version of the crawl\'s spec this hub does not know.', todo: 'Drop leases of that version; ask without specVersion for the current one.' },
  CRAWL_UNKNOWN: { group: 'fix', area: 'socket', status: 404, meaning: 'No crawl with that id.', todo: "Check the crawl's id (crowdcrawl status lists them)." },
  CRAWL_NOT_RUNNING: { group: 'give-up', area: 'socket', status: 409, meaning: "The lease's crawl was paused, cancelled or has finished.", todo: 'Drop the lease; new leases come when a crawl runs.' },
  RESULT_INVALID: { group: 'fix', area: 'socket', status: 400, meaning: "A result does not fit the crawl's spec or the result limits; the page goes to another worker.", todo: "Extract with the crawl's current spec and stay within RESULT_LIMITS." },
  RESULT_REFUSED: { group: 'fix', area: 'socket', status: 400, meaning: 'The result names links that do not occur in the page it was served; it counts as a wrong result (a strike).', todo: 'Send the links the extraction engine found in the served page, unchanged.' },
  STORAGE_FAILED: { group: 'retry', area: 'socket', status: 503, meaning: 'The hub could not write the result to its database.', todo: 'Send it again later; the operator should check the disk and the log.' },
  UNKNOWN_EVENT: { group: 'fix', area: 'socket', status: 400, meaning: 'The hub does not know this event.', todo: 'Send only the events of the protocol.' },
  INTERNAL: { group: 'operator', area: 'socket', status: 500, meaning: 'The hub failed to handle the request (a bug).', todo: 'Try again; if it keeps failing, report it with the hub\'s log.' },
  NAME_INVALID: { group: 'fix', area: 'socket', status: 400, meaning: 'The nickname cannot be shown: it has invisible, control or bidi characters (e.g. U+3164, zero-width spaces), piles of accents, or no letter or digit.', todo: 'Choose another nickname; the message names the refused character (docs/volunteers.md).' },

  // The admin HTTP API (/api) and the console's session.
  UNAUTHORIZED: { group: 'fix', area: 'http', status: 401, meaning: 'No admin token or console session, or a wrong token.', todo: 'Send "Authorization: Bearer <admin token>" or sign in to the console.' },
  WRONG_TOKEN: { group: 'fix', area: 'http', status: 401, meaning: "The token given to sign in is not this hub's admin token.", todo: "Use the token the hub printed at its first start (its data dir's admin-token file)." },
  CSRF_FAILED: { group: 'fix', area: 'http', status: 403, meaning: "A console request came from another site or without the session's CSRF token.", todo: "Use the hub's own console page; send the x-csrf-token header." },
  SIGN_IN_RATE_LIMITED: { group: 'retry', area: 'http', status: 429, meaning: 'Too many wrong admin tokens from this address (sign-in form, Bearer tokens and the admin socket count together; adminAuth settings): the right token is refused too until the window ends.', todo: 'Wait the time the message (and Retry-After) says, then use the right token.' },
  NOT_FOUND: { group: 'fix', area: 'http', status: 404, meaning: 'No admin API route for this method and path.', todo: 'Check the route in docs/admin.md.' },
  BODY_TOO_LARGE: { group: 'fix', area: 'http', status: 413, meaning: 'The request body is larger than the API accepts (5 MB).', todo: 'Send a smaller body (fewer start URLs).' },
  BAD_JSON: { group: 'fix', area: 'http', status: 400, meaning: 'The request body is not valid JSON.', todo: 'Send valid JSON.' },
  UNSUPPORTED_MEDIA_TYPE: { group: 'fix', area: 'http', status: 415, meaning: 'The body is not sent as JSON.', todo: 'Send "Content-Type: application/json".' },
  SPEC_INVALID: { group: 'fix', area: 'http', status: 400, meaning: 'The spec does not validate; details lists each problem with its path.', todo: 'Fix every listed path (docs/spec.md).' },
  SPEC_UNKNOWN: { group: 'fix', area: 'http', status: 404, meaning: 'No saved spec with that id.', todo: "Check the saved spec's id (GET /api/specs)." },
  SPEC_NAME_TAKEN: { group: 'fix', area: 'http', status: 409, meaning: 'Another saved spec has that name.', todo: 'Choose another name.' },
  WORKER_UNKNOWN: { group: 'give-up', area: 'http', status: 404, meaning: 'No connected worker session with that id (it may have left).', todo: 'Reload the worker list.' },
  CRAWL_STATE: { group: 'fix', area: 'http', status: 409, meaning: "The crawl's status does not allow this (e.g. pausing a paused crawl).", todo: "Check the crawl's status first; an ended crawl cannot be restarted." },
  SPEC_VERSION_STALE: { group: 'fix', area: 'http', status: 409, meaning: "A new spec for a running crawl names a version that is not above the crawl's current one.", todo: 'Leave "version" out (the hub takes the next one) or give a larger one.' },
  BAN_UNKNOWN: { group: 'fix', area: 'http', status: 404, meaning: 'No ban of that kind and value.', todo: 'Reload the list of bans (GET /api/bans).' },
  WORKER_TOKEN_NOT_FOUND: { group: 'fix', area: 'http', status: 404, meaning: 'No worker token with that id.', todo: 'Reload the list of worker tokens (GET /api/worker-tokens).' },
  PREVIEW_UNAVAILABLE: { group: 'operator', area: 'http', status: 501, meaning: 'The hub was started without a page fetcher, so it cannot preview.', todo: 'Start the hub normally (crowdcrawl hub) to preview.' },

  // The fetch relay: what a page's fetch failed with (relay answers are 502).
  RELAY_BAD_URL: { group: 'give-up', area: 'relay', status: 502, meaning: 'The URL does not parse, or has no host.', todo: 'Nothing: the page is recorded as failed.' },
  RELAY_BAD_SCHEME: { group: 'give-up', area: 'relay', status: 502, meaning: 'The URL is not http: or https:.', todo: 'Nothing: the page is recorded as failed.' },
  RELAY_BLOCKED_ADDRESS: { group: 'operator', area: 'relay', status: 502, meaning: 'The host is, or resolves to, an address that is not public (loopback, private, link-local…), or a bad port.', todo: 'Crawl public sites, or allow the host with the hub\'s --allow-host.' },
  RELAY_DNS_FAILED: { group: 'retry', area: 'relay', status: 502, meaning: 'The host name did not resolve.', todo: 'Retried with backoff; check the host name if it persists.' },
  RELAY_CONNECT_FAILED: { group: 'retry', area: 'relay', status: 502, meaning: 'The connection (or its TLS) failed.', todo: 'Retried with backoff (a TLS failure is not).' },
  RELAY_TIMEOUT: { group: 'retry', area: 'relay', status: 502, meaning: 'The whole fetch took longer than the fetch timeout; the host is slowed down.', todo: 'Retried with backoff; raise the timeout for slow sites.' },
  RELAY_TOO_MANY_REDIRECTS: { group: 'give-up', area: 'relay', status: 502, meaning: 'More redirects than the fetcher follows.', todo: 'Nothing: the page is recorded as failed.' },
  RELAY_REDIRECT_LOOP: { group: 'give-up', area: 'relay', status: 502, meaning: 'A redirect led back to a URL already fetched.', todo: 'Nothing: the page is recorded as failed.' },
  RELAY_BODY_TOO_LARGE: { group: 'give-up', area: 'relay', status: 502, meaning: 'The body is larger than the fetcher takes.', todo: 'Raise the hub\'s body limit if such pages matter.' },
  RELAY_CONTENT_TYPE: { group: 'give-up', area: 'relay', status: 502, meaning: 'The answer is not one of the allowed media types (HTML by default).', todo: 'Nothing: the page is recorded as failed.' },
  RELAY_HTTP_STATUS: { group: 'give-up', area: 'relay', status: 502, meaning: 'The final answer is not 2xx; 408, 425, 429 and 5xx are retried (with Retry-After).', todo: 'Retried when the status says "not now"; else the page is failed.' },
  RELAY_BAD_ENCODING: { group: 'give-up', area: 'relay', status: 502, meaning: 'The Content-Encoding is unknown or the body does not decode.', todo: 'Nothing: the page is recorded as failed.' },
  RELAY_ABORTED: { group: 'give-up', area: 'relay', status: 502, meaning: 'The fetch was aborted (the worker left, or the fetcher closed).', todo: 'Nothing: the lease goes back when its worker leaves.' },
  RELAY_BUSY: { group: 'retry', area: 'relay', status: 429, meaning: 'The worker has more relay requests open at once than the hub allows (relay.maxConcurrentPerWorker).', todo: 'Fetch fewer pages at once; try again when one finishes.' },
  RELAY_INTERNAL: { group: 'retry', area: 'relay', status: 502, meaning: 'An unexpected failure while fetching.', todo: "Retried; if it persists, report it with the hub's log." },
  RELAY_DECODED_TOO_LARGE: { group: 'give-up', area: 'relay', status: 502, meaning: 'A Content-Encoding layer of the body decodes to more than relay.maxCompressionRatio times its own size (a compression bomb).', todo: "Nothing: the page is recorded as failed; raise the hub's relay.maxCompressionRatio if such pages matter." },

  // Politeness: pages skipped before a fetch, and sitemaps that could not be read.
  ROBOTS_DISALLOWED: { group: 'give-up', area: 'page', meaning: "The site's robots.txt disallows the URL for the crawl's user agent; the page is skipped.", todo: 'Nothing: robots.txt is obeyed.' },
  ROBOTS_UNREACHABLE: { group: 'give-up', area: 'page', meaning: "The origin's robots.txt could not be fetched after several attempts; the origin is not crawled.", todo: 'Check that the site is up; start a new crawl later.' },
  SITEMAP_INVALID: { group: 'give-up', area: 'page', meaning: 'A sitemap is not a sitemap (wrong root element or a bad text line).', todo: 'Nothing: the sitemap is skipped.' },
  SITEMAP_TOO_LARGE: { group: 'give-up', area: 'page', meaning: 'A sitemap is larger than the limit (compressed or not).', todo: 'Nothing: the sitemap is skipped.' },
  SITEMAP_BAD_GZIP: { group: 'give-up', area: 'page', meaning: 'A .gz sitemap is not valid gzip.', todo: 'Nothing: the sitemap is skipped.' },
  RESULT_WITHDRAWN: { group: 'retry', area: 'page', meaning: "The page's result came from a contributor later caught cheating, and its body was no longer kept: its items were removed and it is crawled again.", todo: 'Nothing: the page is re-crawled while its crawl runs (see docs/trust.md).' },
  SPEC_DROPPED: { group: 'give-up', area: 'page', meaning: "A queued URL that a newer version of the crawl's spec no longer allows (its follow rules or maxDepth); it is skipped, never fetched.", todo: "Nothing: push a version whose rules allow it if it is wanted (docs/operate.md)." },
  SITEMAP_FAILED: { group: 'give-up', area: 'page', meaning: 'A sitemap could not be read for another reason.', todo: "See the message on the crawl's sources." },

  // Workers: what a worker reports, and what the hub records for it.
  EXTRACT_FAILED: { group: 'give-up', area: 'worker', meaning: "The worker's extraction threw on a page (sent in a `failure` event).", todo: 'The hub records WORKER_EXTRACT_FAILED and retries the page on another worker.' },
  WORKER_EXTRACT_FAILED: { group: 'retry', area: 'page', meaning: 'A worker reported EXTRACT_FAILED for the page.', todo: 'Retried; if every attempt fails, check the spec against the page with crowdcrawl preview.' },
  CONNECT_FAILED: { group: 'retry', area: 'worker', meaning: 'The worker could not reach the hub (the handshake failed without a code).', todo: 'The worker reconnects by itself; check the hub URL if it persists.' },
  WORKER_ERROR: { group: 'retry', area: 'worker', meaning: "A page failed on the worker's side (a fetch or an acknowledgement timed out).", todo: 'Nothing: the lease expires or goes back, and the page is retried.' },
  BROWSER_NOT_FOUND: { group: 'operator', area: 'worker', meaning: 'No Chromium to run headless workers or a browser preview.', todo: 'Install Chromium or set CROWDCRAWL_CHROMIUM (the message lists the ways).' },
  BROWSER_FAILED: { group: 'operator', area: 'cli', meaning: 'The browser engine failed during a preview.', todo: 'Try the cheerio engine, or check the Chromium install.' },

  // The CLI and the console, about the hub or a page they read themselves.
  HUB_UNREACHABLE: { group: 'retry', area: 'cli', meaning: 'The hub did not answer at its address.', todo: 'Start the hub, or give its address with --hub or CROWDCRAWL_HUB.' },
  BAD_RESPONSE: { group: 'operator', area: 'cli', meaning: "The answer is not the admin API's (a proxy's page, or not a crowdcrawl hub).", todo: 'Check the hub address; look at what answers there.' },
  PAGE_UNREACHABLE: { group: 'retry', area: 'cli', meaning: 'crowdcrawl preview could not fetch the page.', todo: 'Check the URL and the network.' },
  HTTP_STATUS: { group: 'give-up', area: 'cli', meaning: 'crowdcrawl preview got a non-2xx answer for the page.', todo: 'Preview a page that answers 200.' },
  PAGE_TOO_LARGE: { group: 'give-up', area: 'cli', meaning: 'The page or file to preview is larger than 10 MB.', todo: 'Preview a smaller page.' },
  FILE_UNREADABLE: { group: 'fix', area: 'cli', meaning: 'crowdcrawl preview could not read the HTML file.', todo: 'Check the path.' },

  // The transport edge: message and upload sizes, rates and connections (docs/volunteers.md).
  RATE_LIMITED: { group: 'retry', area: 'socket', status: 429, meaning: 'Too many events or uploads from this socket or address in a short time (transport.rateLimit); a socket that keeps going is disconnected.', todo: 'Send less often; an honest worker never meets this at the default settings.' },
  TOO_MANY_SOCKETS: { group: 'retry', area: 'socket', status: 429, meaning: 'This address already has as many worker connections as the hub allows (transport.maxSocketsPerAddress).', todo: 'Close other tabs or workers on this address, or raise the number of pages per worker instead.' },
  ORIGIN_NOT_ALLOWED: { group: 'operator', area: 'socket', status: 403, meaning: "A browser connected from a page of another site: only the hub's own pages (and --allowed-origin) may enlist workers.", todo: "Open the hub's own contributor page, or have the operator allow that origin with --allowed-origin." },
  RESULT_TOO_LARGE: { group: 'give-up', area: 'socket', status: 413, meaning: 'A result upload is larger than the hub takes (transport.maxUploadBytes); reading stopped there and nothing was stored.', todo: 'Drop the lease; the page goes to another worker (and is failed if it always gives such a result).' },

  // Storage: the hub's database (docs/scale-out.md).
  STORAGE_UNAVAILABLE: { group: 'operator', area: 'cli', meaning: 'The hub cannot reach its PostgreSQL database (--database-url or CROWDCRAWL_DATABASE_URL): at start (the hub stops), or while running (shown by GET /api/hubs, `crowdcrawl status` and the console; no leases are granted until it is back, results are answered STORAGE_FAILED and sent again).', todo: 'Check that PostgreSQL runs and answers at that URL (host, port, user, password, database name); the message or the hub\'s log says what failed. A running hub carries on by itself once the database is back.' },
  MIGRATE_TARGET_NOT_EMPTY: { group: 'fix', area: 'cli', meaning: 'crowdcrawl migrate refuses a PostgreSQL database that already holds crawls, specs or other data: it copies into an empty one only.', todo: 'Create a new, empty database (createdb) and give its URL with --to.' },
  MIGRATE_SOURCE_MISSING: { group: 'fix', area: 'cli', meaning: 'crowdcrawl migrate found no hub database (crowdcrawl.db) in the --from directory.', todo: "Give the hub's data dir (its --data-dir), the one holding crowdcrawl.db." },

  // Operations: schedules, webhooks, deleting crawls (docs/operate.md).
  SCHEDULE_INVALID: { group: 'fix', area: 'http', status: 400, meaning: 'A schedule does not validate: a bad cron expression, an unknown time zone, an unknown saved spec or a bad setting; the message lists each problem with its path.', todo: 'Fix every listed path (docs/operate.md, "Schedules").' },
  SCHEDULE_UNKNOWN: { group: 'fix', area: 'http', status: 404, meaning: 'No schedule with that id.', todo: 'Reload the list of schedules (GET /api/schedules).' },
  WEBHOOK_INVALID: { group: 'fix', area: 'http', status: 400, meaning: 'A webhook does not validate: its URL is not http(s), or an event or setting is unknown; the message lists each problem with its path.', todo: 'Fix every listed path (docs/operate.md, "Webhooks").' },
  WEBHOOK_UNKNOWN: { group: 'fix', area: 'http', status: 404, meaning: 'No webhook with that id.', todo: 'Reload the list of webhooks (GET /api/webhooks).' },
  DELIVERY_UNKNOWN: { group: 'fix', area: 'http', status: 404, meaning: 'No webhook delivery with that id.', todo: 'Reload the list of deliveries (GET /api/webhooks/deliveries).' },
  PAGE_UNCHANGED: { group: 'give-up', area: 'relay', status: 409, meaning: "A re-crawl's page has not changed since the previous run (a 304, or the same bytes): the hub recorded it with the previous run's items.", todo: 'Drop the lease and take the next one: there is nothing to extract.' },
  CRAWL_ACTIVE: { group: 'fix', area: 'http', status: 409, meaning: 'The crawl is running or paused: it cannot be deleted while it may still change.', todo: 'Cancel it first (POST /api/crawls/:id/cancel, or the console), then delete it.' },
} as const satisfies Record<string, ErrorInfo>;

export type ErrorCode = keyof typeof ERRORS;

/** Every code by name, so code reads `ErrorCode.BANNED` (a typo does not compile). */
export const ErrorCode = Object.fromEntries(Object.keys(ERRORS).map((code) => [code, code])) as { readonly [C in ErrorCode]: C };

/** The codes that come with an HTTP status (what HubError and the admin API answer with). */
export type HttpErrorCode = { [C in ErrorCode]: (typeof ERRORS)[C] extends { status: number } ? C : never }[ErrorCode];
export type HttpStatusOf<C extends HttpErrorCode> = (typeof ERRORS)[C]['status'];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERRORS, value);
}

export function errorInfo(code: ErrorCode): ErrorInfo {
  return ERRORS[code];
}

export function httpStatusOf<C extends HttpErrorCode>(code: C): HttpStatusOf<C> {
  return ERRORS[code].status;
}

/** "what to do" for a code met on the wire, or undefined for one this build does not know (a newer hub's). */
export function whatToDo(code: string): string | undefined {
  return isErrorCode(code) ? ERRORS[code].todo : undefined;
}

function mirror<const C extends ErrorCode>(codes: readonly C[]): { readonly [K in C]: K } {
  return Object.fromEntries(codes.map((code) => [code, code])) as { readonly [K in C]: K };
}

/** The codes a socket reply, `hub:error` or handshake refusal carries (the protocol's ErrorCode before the catalogue). */
export const SOCKET_ERROR_CODES = [
  'BAD_REQUEST', 'PROTOCOL_MISMATCH', 'BANNED', 'LEASE_UNKNOWN', 'LEASE_NOT_YOURS', 'LEASE_EXPIRED', 'LEASE_NOT_FETCHED',
  'CRAWL_UNKNOWN', 'CRAWL_NOT_RUNNING', 'RESULT_INVALID', 'STORAGE_FAILED', 'UNKNOWN_EVENT', 'INTERNAL', 'UNAUTHORIZED',
  'RESULT_REFUSED', 'WORKER_TOKEN_UNKNOWN', 'NAME_INVALID', 'RATE_LIMITED', 'TOO_MANY_SOCKETS', 'ORIGIN_NOT_ALLOWED', 'RESULT_TOO_LARGE',
  'SPEC_VERSION_UNKNOWN',
] as const satisfies readonly ErrorCode[];

/** The fetch relay's failures (server/relay/errors.ts). */
export const RELAY_ERROR_CODES = [
  'RELAY_BAD_URL', 'RELAY_BAD_SCHEME', 'RELAY_BLOCKED_ADDRESS', 'RELAY_DNS_FAILED', 'RELAY_CONNECT_FAILED', 'RELAY_TIMEOUT',
  'RELAY_TOO_MANY_REDIRECTS', 'RELAY_REDIRECT_LOOP', 'RELAY_BODY_TOO_LARGE', 'RELAY_CONTENT_TYPE', 'RELAY_HTTP_STATUS',
  'RELAY_BAD_ENCODING', 'RELAY_ABORTED', 'RELAY_INTERNAL', 'RELAY_DECODED_TOO_LARGE',
] as const satisfies readonly ErrorCode[];
export type RelayErrorCode = (typeof RELAY_ERROR_CODES)[number];
export const RelayErrorCode = mirror(RELAY_ERROR_CODES);

/** Why the politeness gate drops a URL before it is leased. */
export const SKIP_CODES = ['ROBOTS_DISALLOWED', 'ROBOTS_UNREACHABLE'] as const satisfies readonly ErrorCode[];
export type SkipCode = (typeof SKIP_CODES)[number];
export const SkipCode = mirror(SKIP_CODES);

/** Why a sitemap could not be read. */
export const SITEMAP_ERROR_CODES = ['SITEMAP_INVALID', 'SITEMAP_TOO_LARGE', 'SITEMAP_BAD_GZIP'] as const satisfies readonly ErrorCode[];
export type SitemapErrorCode = (typeof SITEMAP_ERROR_CODES)[number];

/** What a worker may report in a `failure` event (the hub refuses any other code). */
export const WORKER_FAILURE_CODES = ['EXTRACT_FAILED'] as const satisfies readonly ErrorCode[];
export type WorkerFailureCode = (typeof WORKER_FAILURE_CODES)[number];

/** The code a page is recorded with when a worker reports `code` (WORKER_ before it; each one in the catalogue). */
export type RecordedWorkerFailure = `WORKER_${WorkerFailureCode}` & ErrorCode;
export function recordedWorkerFailure(code: WorkerFailureCode): RecordedWorkerFailure {
  return `WORKER_${code}`;
}

/** A group's retry-later verdict, for callers that only need yes or no. */
export function isRetryLater(code: ErrorCode): boolean {
  return ERRORS[code].group === 'retry';
}

/**
 * An error the hub answers a caller with: a catalogue code and a message for a
 * person; the HTTP status is the code's (the admin API answers with it).
 */
export class HubError<C extends HttpErrorCode = HttpErrorCode> extends Error {
  override readonly name = 'HubError';
  readonly code: C;
  readonly status: HttpStatusOf<C>;

  /**
   * `status` is redundant (the catalogue has it) and only type-checked to agree
   * with the catalogue: callers written before the catalogue passed it.
   */
  constructor(code: C, message: string, status?: HttpStatusOf<C>) {
    super(message);
    this.code = code;
    this.status = status ?? httpStatusOf(code);
  }
}
