// The socket opener behind the relay's undici Agent: the one place where the
// relay's address policy meets the network.
//
// Checking a URL's host before handing it to an HTTP client is not enough: DNS
// can answer differently a moment later (rebinding), and redirects bring new
// hosts. So every new connection resolves the host itself, refuses it if ANY
// address is not public unicast, connects to the address it checked (never
// resolving again), and checks the socket's remoteAddress once connected.
// Hosts on the allow list skip the address checks (local sites, tests).
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction, Socket } from 'node:net';
import { isIP } from 'node:net';
import { buildConnector } from 'undici';
import { blockedAddressReason, defaultPortFor, isAllowedHost, isBadPort, type AllowHostEntry } from './address-policy.ts';
import { RelayError, RelayErrorCode } from './errors.ts';

export interface GuardedConnectorOptions {
  allowHosts: readonly AllowHostEntry[];
  /** Same shape as dns.lookup; called with `{ all: true }`. */
  lookup?: LookupFunction;
  connectTimeoutMs: number;
  /**
   * Opens the socket once the address is checked. Defaults to undici's
   * buildConnector (TCP, or TLS with SNI and certificate checks for the host
   * name). Tests substitute it to exercise the after-connect check.
   */
  baseConnect?: buildConnector.connector;
}

/** `localhost` and `*.localhost` are loopback whatever a resolver says (RFC 6761). */
function isLocalhostName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

function resolveAll(lookup: LookupFunction, hostname: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    lookup(hostname, { all: true }, (error, addresses) => {
      if (error) {
        reject(error);
        return;
      }
      // A lookup that ignores `all` answers with a single string.
      const list = Array.isArray(addresses) ? (addresses as LookupAddress[]).map((entry) => entry.address) : [addresses];
      resolve(list.filter((address): address is string => typeof address === 'string' && address !== ''));
    });
  });
}

function badPortError(port: number): RelayError {
  return new RelayError(RelayErrorCode.RELAY_BLOCKED_ADDRESS, `refusing port ${port}: it is on the Fetch Standard's list of bad ports`);
}

function blockedError(hostname: string, address: string, reason: string): RelayError {
  const shown = hostname === address ? address : `${hostname} (${address})`;
  return new RelayError(RelayErrorCode.RELAY_BLOCKED_ADDRESS, `refusing to connect to ${shown}: ${reason} address`);
}

/**
 * Throws RELAY_BLOCKED_ADDRESS for a bad port, or an IP literal or localhost
 * name that the policy refuses; lets other host names through (they are checked when resolved).
 * Used before dispatching, so that refusals need no connection attempt at all.
 */
export function assertHostMayBeFetched(allowHosts: readonly AllowHostEntry[], hostname: string, port: number): void {
  if (isAllowedHost(allowHosts, hostname, port)) return;
  if (isBadPort(port)) throw badPortError(port);
  const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  if (isLocalhostName(bare)) throw blockedError(bare, bare, 'loopback');
  if (isIP(bare) !== 0) {
    const reason = blockedAddressReason(bare);
    if (reason !== undefined) throw blockedError(bare, bare, reason);
  }
}

export function createGuardedConnector(options: GuardedConnectorOptions): buildConnector.connector {
  const lookup = options.lookup ?? (dnsLookup as LookupFunction);
  const baseConnect = options.baseConnect ?? buildConnector({ timeout: options.connectTimeoutMs });

  async function pickAddress(hostname: string, allowed: boolean): Promise<string> {
    if (isIP(hostname) !== 0) {
      const reason = allowed ? undefined : blockedAddressReason(hostname);
      if (reason !== undefined) throw blockedError(hostname, hostname, reason);
      return hostname;
    }
    if (!allowed && isLocalhostName(hostname)) throw blockedError(hostname, hostname, 'loopback');
    let addresses: string[];
    try {
      addresses = await resolveAll(lookup, hostname);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'ERROR';
      throw new RelayError(RelayErrorCode.RELAY_DNS_FAILED, `could not resolve ${hostname}: ${code}`, { cause: error });
    }
    if (addresses.length === 0) throw new RelayError(RelayErrorCode.RELAY_DNS_FAILED, `${hostname} has no addresses`);
    if (!allowed) {
      // One bad address is enough: a name that mixes public and private answers is an attack or a mistake.
      for (const address of addresses) {
        const reason = blockedAddressReason(address);
        if (reason !== undefined) throw blockedError(hostname, address, reason);
      }
    }
    return addresses[0] as string;
  }

  return function guardedConnect(connectOptions, callback) {
    const { hostname, protocol } = connectOptions;
    const port = Number(connectOptions.port) || defaultPortFor(protocol);
    const allowed = isAllowedHost(options.allowHosts, hostname, port);
    if (!allowed && isBadPort(port)) {
      callback(badPortError(port), null);
      return;
    }

    const onConnected: buildConnector.Callback = (...result) => {
      const [error, socket] = result;
      if (error) {
        callback(error, null);
        return;
      }
      // The address actually connected to: what a proxy, NAT or kernel did with the one we checked.
      const remote = (socket as Socket).remoteAddress;
      const reason = allowed ? undefined : remote === undefined ? 'unknown' : blockedAddressReason(remote);
      if (reason !== undefined) {
        socket.destroy();
        callback(blockedError(hostname, remote ?? '?', reason), null);
        return;
      }
      callback(null, socket);
    };

    pickAddress(hostname, allowed).then(
      (address) => {
        try {
          // Connects to the checked address, never resolving again. `host` keeps the
          // name, so TLS still sends SNI for it and checks the certificate against it.
          baseConnect({ ...connectOptions, hostname: address }, onConnected);
        } catch (error) {
          callback(error as Error, null);
        }
      },
      (error: Error) => callback(error, null),
    );
  };
}
