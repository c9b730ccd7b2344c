// Which addresses the relay may connect to, and which hosts are exempt.
//
// The relay fetches URLs that strangers put into crawls, from inside the hub's
// network. Anything that is not a public unicast address could reach the hub
// itself, the LAN, or a cloud metadata service (169.254.169.254), so it is
// refused. IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4, Teredo)
// are judged by the IPv4 address they carry.
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Ranges refused even if a future ipaddr.js were to call them 'unicast'. */
const EXTRA_BLOCKED_IPV4: ReadonlyArray<[string, number]> = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and 255.255.255.255 broadcast
];

const EXTRA_BLOCKED_IPV4_PARSED = EXTRA_BLOCKED_IPV4.map(([address, bits]) => [ipaddr.IPv4.parse(address), bits] as const);

/** Only 2000::/3 is global unicast; everything else in IPv6 is special. */
const GLOBAL_UNICAST_IPV6: readonly [ipaddr.IPv6, number] = [ipaddr.IPv6.parse('2000::'), 3];
const DOCUMENTATION_IPV6: ReadonlyArray<readonly [ipaddr.IPv6, number]> = [
  [ipaddr.IPv6.parse('2001:db8::'), 32],
  [ipaddr.IPv6.parse('3fff::'), 20],
];
const NAT64_WELL_KNOWN: readonly [ipaddr.IPv6, number] = [ipaddr.IPv6.parse('64:ff9b::'), 96];

function ipv4FromWords(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([(high >> 8) & 0xff, high & 0xff, (low >> 8) & 0xff, low & 0xff]);
}

function ipv4BlockReason(address: ipaddr.IPv4): string | undefined {
  const range = address.range();
  if (range !== 'unicast') return range;
  for (const [network, bits] of EXTRA_BLOCKED_IPV4_PARSED) {
    if (address.match(network, bits)) return 'reserved';
  }
  return undefined;
}

function ipv6BlockReason(address: ipaddr.IPv6): string | undefined {
  const parts = address.parts;
  if (address.isIPv4MappedAddress()) {
    const reason = ipv4BlockReason(address.toIPv4Address());
    // A mapped address is how a dual-stack socket reports an IPv4 peer; judge the peer.
    return reason === undefined ? undefined : `ipv4Mapped ${reason}`;
  }
  if (address.match(NAT64_WELL_KNOWN[0], NAT64_WELL_KNOWN[1])) {
    const reason = ipv4BlockReason(ipv4FromWords(parts[6] ?? 0, parts[7] ?? 0));
    return reason === undefined ? undefined : `nat64 ${reason}`;
  }
  if (!address.match(GLOBAL_UNICAST_IPV6[0], GLOBAL_UNICAST_IPV6[1])) return address.range() === 'unicast' ? 'reserved' : address.range();
  for (const [network, bits] of DOCUMENTATION_IPV6) {
    if (address.match(network, bits)) return 'documentation';
  }
  const range = address.range();
  if (range === '6to4') {
    // 2002:AABB:CCDD::/48 carries the IPv4 address AA.BB.CC.DD.
    const reason = ipv4BlockReason(ipv4FromWords(parts[1] ?? 0, parts[2] ?? 0));
    return reason === undefined ? undefined : `6to4 ${reason}`;
  }
  if (range === 'teredo') {
    // 2001:0:SSSS:SSSS:flags:port:CCCC:CCCC — the server's IPv4, and the client's XOR 0xffffffff.
    const server = ipv4BlockReason(ipv4FromWords(parts[2] ?? 0, parts[3] ?? 0));
    const client = ipv4BlockReason(ipv4FromWords(~(parts[6] ?? 0) & 0xffff, ~(parts[7] ?? 0) & 0xffff));
    const reason = server ?? client;
    return reason === undefined ? undefined : `teredo ${reason}`;
  }
  return range === 'unicast' ? undefined : range;
}

/**
 * Why this IP address may not be fetched from ('loopback', 'private',
 * 'ipv4Mapped loopback'…), or undefined when it is public unicast. Anything
 * that is not a plain IP address (a host name, a zone id, garbage) is refused.
 */
export function blockedAddressReason(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  try {
    const parsed = ipaddr.parse(address);
    return parsed.kind() === 'ipv4' ? ipv4BlockReason(parsed as ipaddr.IPv4) : ipv6BlockReason(parsed as ipaddr.IPv6);
  } catch {
    return 'unparseable address';
  }
}

export function isPublicUnicastAddress(address: string): boolean {
  return blockedAddressReason(address) === undefined;
}

/** An --allow-host entry: a host name or IP, optionally pinned to one port. */
export interface AllowHostEntry {
  /** Lower-case; IPv6 without brackets, in canonical form; IPv4 in dotted form. */
  host: string;
  port?: number;
}

/** Host names and IP literals as WHATWG URL normalizes them, without IPv6 brackets. */
export function normalizeHostName(host: string): string {
  let bare = host.toLowerCase();
  if (bare.startsWith('[') && bare.endsWith(']')) bare = bare.slice(1, -1);
  if (isIP(bare) === 6) return ipaddr.IPv6.parse(bare).toString();
  try {
    // The URL parser turns 0x7f.1 into 127.0.0.1 and IDNs into punycode, as it does for fetched URLs.
    return new URL(`http://${bare}/`).hostname;
  } catch {
    return bare;
  }
}

/**
 * Parses `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address.
 * Throws on an empty host or a bad port.
 */
export function parseAllowHost(entry: string): AllowHostEntry {
  const text = entry.trim();
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1) throw new Error(`allow-host "${entry}": missing "]"`);
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw new Error(`allow-host "${entry}": expected ":port" after "]"`);
      portText = rest.slice(1);
    }
  } else if (text.split(':').length > 2) {
    host = text; // a bare IPv6 address: no port possible
  } else {
    const colon = text.indexOf(':');
    host = colon === -1 ? text : text.slice(0, colon);
    portText = colon === -1 ? undefined : text.slice(colon + 1);
  }
  if (host === '') throw new Error(`allow-host "${entry}": empty host`);
  const result: AllowHostEntry = { host: normalizeHostName(host) };
  if (portText !== undefined) {
    const port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw new Error(`allow-host "${entry}": bad port "${portText}"`);
    result.port = port;
  }
  return result;
}

/**
 * The Fetch Standard's "bad ports": services that speak other protocols (SMTP,
 * IRC, SIP…) and that an HTTP request could be smuggled into. Browsers refuse
 * them, and so does the relay, except on allowed hosts.
 */
const BAD_PORTS: ReadonlySet<number> = new Set([
  0, 1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115,
  117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587,
  601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679,
  6697, 10080,
]);

export function isBadPort(port: number): boolean {
  return BAD_PORTS.has(port);
}

export function defaultPortFor(protocol: string): number {
  return protocol === 'https:' ? 443 : 80;
}

/** Matches a host (brackets or not, any case) and its effective port against the allow list. */
export function isAllowedHost(entries: readonly AllowHostEntry[], host: string, port: number): boolean {
  if (entries.length === 0) return false;
  const normalized = normalizeHostName(host);
  return entries.some((entry) => entry.host === normalized && (entry.port === undefined || entry.port === port));
}
