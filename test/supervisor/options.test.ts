/**
 * createSupervisor() options: the log cap's default and limits.
 */
import { describe, expect, it } from 'vitest';
import { isCoordError } from '../../src/errors.js';
import { resolveOptions } from '../../src/supervisor/options.js';

describe('maxLogBytes option', () => {
  it('defaults to 50 MiB per attempt', () => {
    expect(resolveOptions({ repo: '/r' }).maxLogBytes).toBe(52_428_800);
    expect(resolveOptions({ repo: '/r', maxLogBytes: 4096 }).maxLogBytes).toBe(4096);
  });

  it.each([4095, 4096.5, 2 ** 31])('refuses %d with CONFIG_INVALID naming the option', (maxLogBytes) => {
    let caught: unknown;
    try {
      resolveOptions({ repo: '/r', maxLogBytes });
    } catch (error) {
      caught = error;
    }
    expect(isCoordError(caught) && caught.code).toBe('CONFIG_INVALID');
    expect(caught instanceof Error && caught.message).toMatch(/^invalid option maxLogBytes: /);
  });
});
