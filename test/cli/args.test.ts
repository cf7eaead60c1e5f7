import { describe, expect, it } from 'vitest';
import { parseCliArgs } from '../../src/cli/args.js';

const usageError = (argv: string[]): string => {
  try {
    parseCliArgs(argv);
  } catch (error) {
    expect(error).toMatchObject({ code: 'USAGE' });
    return (error as Error).message;
  }
  throw new Error(`${argv.join(' ')} parsed`);
};

describe('coord flags', () => {
  it("answers a negative number with coord's own message, not the parser's", () => {
    expect(usageError(['--workers', '-1'])).toBe('--workers must be an integer from 1 to 64, not "-1"');
    expect(usageError(['--lease-ms', '-5'])).toBe('--lease-ms must be an integer from 200 to 3600000, not "-5"');
  });

  it('still parses values and flags around it', () => {
    expect(parseCliArgs(['--workers', '3', '--once'])).toMatchObject({ workers: 3, once: true });
    expect(parseCliArgs(['--workers=2'])).toMatchObject({ workers: 2 });
    expect(usageError(['--bogus'])).toMatch(/bogus/);
  });

  it('leaves workers, log level and --allow-dirty undefined when not given, so a config file or COORD_* can show through', () => {
    expect(parseCliArgs([])).toMatchObject({ workers: undefined, logLevel: undefined, allowDirty: undefined, config: undefined, http: undefined });
    expect(parseCliArgs(['--allow-dirty', '--log-level', 'debug'])).toMatchObject({ allowDirty: true, logLevel: 'debug' });
  });

  it('takes --config FILE and a checked --http HOST:PORT', () => {
    expect(parseCliArgs(['--config', 'ci/coord.yaml', '--http', '127.0.0.1:0'])).toMatchObject({ config: 'ci/coord.yaml', http: '127.0.0.1:0' });
    expect(usageError(['--http', '8080'])).toBe('--http must be HOST:PORT (e.g. 127.0.0.1:8080, or port 0 for a free one), not "8080"');
  });
});
