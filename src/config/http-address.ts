/**
 * The control plane's listening address, `HOST:PORT`: from `--http`, `COORD_HTTP` or `http:`
 * in the config file. IPv6 hosts are written in brackets (`[::1]:8080`), as in a URL, so the
 * last colon always separates the port; port 0 asks the system for a free one.
 */
import { isIPv6 } from 'node:net';
import { CoordError } from '../errors.js';

/** A parsed `HOST:PORT`; an IPv6 host is given without its brackets. */
export interface HttpAddress {
  host: string;
  port: number;
}

/** A host name or IPv4 address: letters, digits, dots and hyphens, as in DNS. */
const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

/**
 * Parses `HOST:PORT`, or returns null when `value` is not one. For callers that report the
 * problem in their own words (a config file's line, an environment variable).
 */
export function tryParseHttpAddress(value: string): HttpAddress | null {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  if (match === null) return null;
  const [, bracketed, plain, digits] = match;
  const port = Number(digits);
  if (port > 65_535) return null;
  if (bracketed !== undefined) return isIPv6(bracketed) ? { host: bracketed, port } : null;
  return plain !== undefined && HOST_NAME.test(plain) ? { host: plain, port } : null;
}

/** What a valid address looks like, for messages. */
export const HTTP_ADDRESS_HINT = 'HOST:PORT (e.g. 127.0.0.1:8080, or port 0 for a free one)';

/**
 * Parses `HOST:PORT`; throws a `USAGE` error naming `--http` otherwise.
 *
 * @example
 * parseHttpAddress('127.0.0.1:8080'); // { host: '127.0.0.1', port: 8080 }
 * parseHttpAddress('[::1]:0');        // { host: '::1', port: 0 }
 * parseHttpAddress('8080');           // CoordError USAGE: --http must be HOST:PORT (…), not "8080"
 */
export function parseHttpAddress(value: string): HttpAddress {
  const address = tryParseHttpAddress(value);
  if (address === null) throw new CoordError('USAGE', `--http must be ${HTTP_ADDRESS_HINT}, not ${JSON.stringify(value)}`);
  return address;
}
