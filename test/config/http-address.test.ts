import { describe, expect, it } from 'vitest';
import { parseHttpAddress } from '../../src/config/http-address.js';
import { isCoordError } from '../../src/errors.js';

describe('parseHttpAddress', () => {
  it('reads HOST:PORT, IPv6 in brackets, port 0 to 65535', () => {
    expect(parseHttpAddress('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseHttpAddress('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    expect(parseHttpAddress('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseHttpAddress('[fe80::1]:65535')).toEqual({ host: 'fe80::1', port: 65535 });
  });

  it.each(['8080', ':8080', 'localhost', 'localhost:', 'localhost:65536', 'localhost:-1', '::1:80', '[nope]:80', 'a b:80', 'host:80x'])(
    'refuses %j with a USAGE error that shows the form',
    (value) => {
      let caught: unknown;
      try {
        parseHttpAddress(value);
      } catch (error) {
        caught = error;
      }
      expect(isCoordError(caught) && caught.code).toBe('USAGE');
      expect((caught as Error).message).toBe(`--http must be HOST:PORT (e.g. 127.0.0.1:8080, or port 0 for a free one), not ${JSON.stringify(value)}`);
    },
  );
});
