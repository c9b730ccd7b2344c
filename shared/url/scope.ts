// Crawl scope: which discovered links a follow rule may follow, by host.
//
// Hosts are compared after WHATWG URL parsing (lower case, IDN as punycode, IPv4
// in dotted decimal, IPv6 in brackets) and without a trailing dot, so
// "WWW.Example.COM." and "www.example.com" are one host. Ports and schemes are
// ignored: http://example.com/ and https://example.com:8443/ are the same host,
// as they are for Scrapy's allowed_domains.
//
// tldts is pure JavaScript with the Public Suffix List built in, so this module
// runs in the browser bundle as well as in Node.
import { getDomain } from 'tldts';
import type { Scope } from '../spec/schema.ts';
import { parseUrl } from './whatwg-url.ts';
import { memoizeString } from './memo.ts';

const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

function isIpAddress(hostname: string): boolean {
  return hostname.startsWith('[') || IPV4.test(hostname);
}

function withoutTrailingDot(hostname: string): string {
  return hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
}

/** The comparable host of an http(s) URL, or null when the URL is not one. */
function hostOfUrl(url: string): string | null {
  return typeof url === 'string' ? memoizedHostOfUrl(url) : null;
}

/** Memoized (memo.ts): every link of every page is scope-checked, by the extraction engine and by the hub. */
const memoizedHostOfUrl = memoizeString((url: string): string | null => {
  const parsed = parseUrl(url);
  if (parsed === null || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) return null;
  return parsed.hostname === '' ? null : withoutTrailingDot(parsed.hostname);
});

/**
 * A bare host name or IP address in comparable form, or null when `host` is not
 * just a host (a port, path, credentials or anything else makes it null).
 * An unbracketed IPv6 address ("::1") is accepted.
 */
function canonicalHost(host: string): string | null {
  if (typeof host !== 'string' || host === '' || host.length > 300) return null;
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const parsed = parseUrl(`http://${bracketed}/`);
  if (parsed === null || parsed.hostname === '') return null;
  if (parsed.username !== '' || parsed.password !== '' || parsed.port !== '') return null;
  if (parsed.pathname !== '/' || parsed.search !== '' || parsed.hash !== '') return null;
  // "example.com:80" and "[::1]:80" parse with the default port dropped; only an
  // IPv6 address, alone in its brackets, may hold a colon.
  if (host.includes(':') && !(parsed.hostname.startsWith('[') && bracketed.endsWith(']'))) return null;
  return withoutTrailingDot(parsed.hostname);
}

/**
 * The registrable domain (eTLD+1) of a host: "www.bbc.co.uk" → "bbc.co.uk".
 * The private part of the Public Suffix List counts, so "alice.github.io" and
 * "bob.github.io" are different sites, as browsers treat them. An IP address, a
 * single-label host ("localhost") or a host that is itself a public suffix has
 * no registrable domain and stands for itself (HTML's "site" does the same).
 * Null when `host` is not a valid host.
 */
export function registrableDomain(host: string): string | null {
  return typeof host === 'string' ? memoizedRegistrableDomain(host) : null;
}

/** Memoized (memo.ts): a 'sameDomain' scope asks it for the host of every link. */
const memoizedRegistrableDomain = memoizeString((host: string): string | null => {
  const hostname = canonicalHost(host);
  if (hostname === null) return null;
  if (isIpAddress(hostname)) return hostname;
  return getDomain(hostname, { allowPrivateDomains: true, extractHostname: false, detectIp: false }) ?? hostname;
}, 1024);

const canonicalDomainLists = new WeakMap<readonly string[], readonly string[]>();

/** A `{ domains }` scope's entries in comparable form (cached per array; invalid entries dropped). */
function canonicalDomains(domains: readonly string[]): readonly string[] {
  const cached = canonicalDomainLists.get(domains);
  if (cached) return cached;
  const hosts: string[] = [];
  for (const domain of domains) {
    // ".example.com" is a common way of writing "example.com and its subdomains".
    const host = typeof domain === 'string' ? canonicalHost(domain.startsWith('.') ? domain.slice(1) : domain) : null;
    if (host !== null) hosts.push(host);
  }
  canonicalDomainLists.set(domains, hosts);
  return hosts;
}

/**
 * Whether a link to `toUrl` found on `fromUrl` may be followed under `scope`:
 * - 'sameHost': the same host name;
 * - 'sameDomain': the same registrable domain (see registrableDomain);
 * - 'any': any http(s) URL;
 * - { domains }: the host is one of the domains or a subdomain of one (Scrapy's
 *   allowed_domains); an IP address only matches itself.
 * False whenever `toUrl` is not an http(s) URL (or `fromUrl` is not one, for the
 * scopes that compare against it). Never throws.
 */
export function isInScope(scope: Scope, fromUrl: string, toUrl: string): boolean {
  return scopeFrom(scope, fromUrl)(toUrl);
}

/**
 * isInScope for many links of one page: what depends on the page (its host, its
 * registrable domain) is worked out once, each link costs one parse.
 */
export function scopeFrom(scope: Scope, fromUrl: string): (toUrl: string) => boolean {
  if (scope === 'any') return (toUrl) => hostOfUrl(toUrl) !== null;
  if (scope === 'sameHost' || scope === 'sameDomain') {
    const from = hostOfUrl(fromUrl);
    if (from === null) return () => false;
    if (scope === 'sameHost') return (toUrl) => hostOfUrl(toUrl) === from;
    const fromDomain = registrableDomain(from);
    if (fromDomain === null) return () => false;
    return (toUrl) => {
      const to = hostOfUrl(toUrl);
      return to !== null && (to === from || fromDomain === registrableDomain(to));
    };
  }
  if (typeof scope === 'object' && scope !== null && Array.isArray(scope.domains)) {
    const domains = canonicalDomains(scope.domains);
    return (toUrl) => {
      const to = hostOfUrl(toUrl);
      if (to === null) return false;
      const subdomainsAllowed = !isIpAddress(to);
      return domains.some((domain) => to === domain || (subdomainsAllowed && to.endsWith(`.${domain}`)));
    };
  }
  return () => false;
}
