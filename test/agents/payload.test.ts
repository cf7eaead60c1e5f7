import { describe, expect, it } from 'vitest';
import { checkPayload, cleanPayload, DEFAULT_MAX_PAYLOAD_BYTES } from '../../src/agents/payload.js';

const codeOf = (run: () => unknown): string | undefined => {
  try {
    run();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
};

describe('payload safety', () => {
  it('removes control characters and escape sequences whole, keeping newlines and tabs', () => {
    expect(cleanPayload('fix\tthe\nbug')).toBe('fix\tthe\nbug');
    expect(cleanPayload('a\r\nb')).toBe('a\nb');
    expect(cleanPayload('\u001b[31mred\u001b[0m \u001b]0;title\u0007done')).toBe('red done');
    expect(cleanPayload('bell\u0007 nul\u0000 del\u007f c1\u009b2J')).toBe('bell nul del c1');
    expect(cleanPayload('ünïcødé ✓ 日本')).toBe('ünïcødé ✓ 日本');
  });

  it('refuses what is not text, empty, or over the limit, whole', () => {
    expect(codeOf(() => checkPayload(42, 'prompt'))).toBe('PAYLOAD_INVALID');
    expect(codeOf(() => checkPayload('', 'prompt'))).toBe('PAYLOAD_INVALID');
    expect(codeOf(() => checkPayload('\u001b[2J\u0007', 'prompt'))).toBe('PAYLOAD_INVALID');
    expect(codeOf(() => checkPayload('half \ud800 a surrogate', 'prompt'))).toBe('PAYLOAD_INVALID');
    expect(codeOf(() => checkPayload('x'.repeat(DEFAULT_MAX_PAYLOAD_BYTES + 1), 'prompt'))).toBe('PAYLOAD_TOO_LARGE');
    // The bound is in UTF-8 bytes: 3 bytes a character here.
    expect(codeOf(() => checkPayload('日'.repeat(11), 'prompt', 32))).toBe('PAYLOAD_TOO_LARGE');
    expect(checkPayload('x'.repeat(DEFAULT_MAX_PAYLOAD_BYTES), 'prompt')).toHaveLength(DEFAULT_MAX_PAYLOAD_BYTES);
    expect(checkPayload('say \u001b[1mhi\u001b[0m', 'prompt')).toBe('say hi');
  });
});
