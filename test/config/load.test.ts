/**
 * The config file's schema errors, said where they are: unknown keys with their path and a
 * guess, wrong types and limits with the limits the option really has, for YAML and JSON.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { isCoordError, type CoordError } from '../../src/errors.js';

function caught(run: () => unknown): CoordError {
  try {
    run();
  } catch (error) {
    if (isCoordError(error)) return error;
    throw error;
  }
  throw new Error('expected a CoordError');
}

const yaml = (...lines: string[]): string => `${lines.join('\n')}\n`;
const fromYaml = (text: string) => caught(() => parseConfigText(text, '/srv/app/coord.yaml', 'coord.yaml'));
const fromJson = (text: string) => caught(() => parseConfigText(text, '/srv/app/coord.json', 'coord.json'));

describe('a valid config file', () => {
  it('reads YAML, leaving out what it does not say', () => {
    const config = parseConfigText(yaml(
      'workers: 8',
      'logLevel: debug',
      'remote: none',
      'defaultTimeoutMs: null',
      'breaker:',
      '  failureThreshold: 2',
      'restart:',
      '  maxRestarts: 1',
    ), '/srv/app/coord.yaml');
    // restart's own defaults are not filled in: createSupervisor() applies them, once.
    expect(config).toEqual({
      workers: 8, logLevel: 'debug', remote: false, defaultTimeoutMs: null, breaker: { failureThreshold: 2 }, restart: { maxRestarts: 1 },
    });
  });

  it('reads JSON, and an empty file (or one of comments) is {}', () => {
    expect(parseConfigText('{"workers": 2, "http": "[::1]:0"}', '/a/coord.json')).toEqual({ workers: 2, http: '[::1]:0' });
    expect(parseConfigText('', '/a/coord.yaml')).toEqual({});
    expect(parseConfigText('  \n', '/a/coord.json')).toEqual({});
    expect(parseConfigText('# nothing yet\n', '/a/coord.yaml')).toEqual({});
  });

  it('reads the sections of later capabilities, validated, budgets.warnAt defaulting to 0.8', () => {
    const config = parseConfigText(yaml(
      'agents:',
      '  claude:',
      '    command: claude',
      '    args: [-p]',
      '    prices: {sonnet: {inputPerMTok: 3, outputPerMTok: 15}}',
      'rateLimits:',
      '  anthropic: {requestsPerMinute: 50}',
      'budgets: {globalUsd: 20}',
      'merge: {target: main, test: [npm, test]}',
      'pools:',
      '  - {id: agents, workers: 2, agent: claude, setup: [npm, ci]}',
      '  - {id: build, workers: 1, setup: [[npm, ci], [npm, run, build]]}',
    ), '/a/coord.yaml');
    expect(config.budgets).toEqual({ globalUsd: 20, warnAt: 0.8 });
    expect(config.pools?.map((pool) => pool.id)).toEqual(['agents', 'build']);
    expect(config.agents?.['claude']?.prices?.['sonnet']).toEqual({ inputPerMTok: 3, outputPerMTok: 15 });
  });

  it('reads the example in docs/config.md', () => {
    const doc = readFileSync(path.join(import.meta.dirname, '..', '..', 'docs', 'config.md'), 'utf8');
    const example = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1] ?? '';
    expect(parseConfigText(example, '/srv/app/coord.yaml')).toMatchObject({ workers: 6, budgets: { globalUsd: 50 } });
  });
});

describe('config file errors, YAML', () => {
  it('an unknown key: at the key, with the key it probably meant', () => {
    const error = fromYaml(yaml('# coord', 'workers: 4', 'logLevel: info', 'worker: 3'));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toBe('coord.yaml:4:1: unknown key "worker" (did you mean "workers"?)');
    expect(error.details).toMatchObject({ file: '/srv/app/coord.yaml', line: 4, column: 1, path: 'worker' });
  });

  it('an unknown key inside a section: with its path', () => {
    const error = fromYaml(yaml('breaker:', '  failureTreshold: 3'));
    expect(error.message).toBe('coord.yaml:2:3: unknown key "breaker.failureTreshold" (did you mean "failureThreshold"?)');
    expect(error.details).toMatchObject({ line: 2, column: 3, path: 'breaker.failureTreshold' });
    expect(fromYaml(yaml('colour: blue')).message).toBe('coord.yaml:1:1: unknown key "colour"');
  });

  it('a value out of range or of the wrong type: at the value, with the limits the option has', () => {
    expect(fromYaml(yaml('# coord', 'workers: 0')).message).toBe('coord.yaml:2:10: workers: must be an integer from 1 to 64');
    expect(fromYaml(yaml('workers: four')).message).toBe('coord.yaml:1:10: workers: must be an integer from 1 to 64');
    expect(fromYaml(yaml('leaseMs: 1.5')).message).toBe('coord.yaml:1:10: leaseMs: must be an integer of at least 200');
    expect(fromYaml(yaml('quietAfterMs: 0')).message).toBe('coord.yaml:1:15: quietAfterMs: must be an integer of at least 1, or null');
    expect(fromYaml(yaml('allowDirty: yes')).message).toBe('coord.yaml:1:13: allowDirty: expected boolean, received string');
    expect(fromYaml(yaml('logLevel: loud')).message).toMatch(/^coord\.yaml:1:11: logLevel: must be one of "trace", "debug", "info"/);
  });

  it('a nested value: breaker.failureThreshold: 0', () => {
    const error = fromYaml(yaml('workers: 2', 'breaker:', '  openMs: 1000', '  failureThreshold: 0'));
    expect(error.message).toBe('coord.yaml:4:21: breaker.failureThreshold: must be an integer of at least 1');
    expect(error.details).toMatchObject({ line: 4, column: 21, path: 'breaker.failureThreshold' });
  });

  it('lists every problem in file order, the first in details', () => {
    const error = fromYaml(yaml('http: "8080"', 'store: "ftp://x"', 'workers: 99'));
    const lines = error.message.split('\n').map((line) => line.trim());
    expect(lines).toEqual([
      'coord.yaml:1:7: http: must be HOST:PORT (e.g. 127.0.0.1:8080, or port 0 for a free one)',
      expect.stringMatching(/^coord\.yaml:2:8: store: invalid store URL "ftp:\/\/x": unknown scheme/),
      'coord.yaml:3:10: workers: must be an integer from 1 to 64',
    ]);
    expect(error.details).toMatchObject({ line: 1, column: 7, path: 'http', issueCount: 3 });
  });

  it('the sections are checked too: a missing field, a pool naming no agent profile', () => {
    expect(fromYaml(yaml('merge:', '  test: [npm, test]')).message).toBe('coord.yaml:1:1: merge.target: missing: expected string');
    expect(fromYaml(yaml('budgets: {warnAt: 1.5}')).message).toBe('coord.yaml:1:19: budgets.warnAt: must be a number above 0 and at most 1');
    expect(fromYaml(yaml('agents: {mine: {command: mine}}', 'pools:', '  - {id: a, workers: 1, agent: theirs}')).message)
      .toBe('coord.yaml:3:32: pools[0].agent: no agent profile "theirs", built in or under agents (there are: claude, codex, gemini, aider, mine)');
    expect(parseConfigText(yaml('pools:', '  - {id: a, workers: 1, agent: claude}'), '/srv/app/coord.yaml', 'coord.yaml').pools?.[0]?.agent).toBe('claude');
  });

  it('a syntax error, with its line and column', () => {
    const error = fromYaml(yaml('workers: 2', 'breaker: [1', 'logLevel: info'));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(/^coord\.yaml:\d+:\d+: invalid YAML: /);
    expect(error.details['line']).toBeGreaterThanOrEqual(2);
  });

  it('a file that is not a mapping', () => {
    expect(fromYaml(yaml('- workers: 2')).message).toBe('coord.yaml:1:1: the config file must be a mapping of settings (e.g. "workers: 4"), not a list');
  });
});

describe('config file errors, JSON', () => {
  it('an unknown key, a wrong type and a nested limit, each at its line and column', () => {
    const text = ['{', '  "workers": 2,', '  "loglevel": "info",', '  "breaker": {"failureThreshold": 0},', '  "maxAttempts": "3"', '}'].join('\n');
    const lines = fromJson(text).message.split('\n').map((line) => line.trim());
    expect(lines).toEqual([
      'coord.json:3:3: unknown key "loglevel" (did you mean "logLevel"?)',
      'coord.json:4:35: breaker.failureThreshold: must be an integer of at least 1',
      'coord.json:5:18: maxAttempts: must be an integer from 1 to 100',
    ]);
  });

  it('a syntax error: a trailing comma', () => {
    const error = fromJson('{\n  "workers": 2,\n}');
    expect(error.message).toBe('coord.json:3:1: invalid JSON: trailing comma');
    expect(error.details).toMatchObject({ line: 3, column: 1 });
  });
});
