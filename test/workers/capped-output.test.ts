/**
 * The head-and-tail capping writer, without files: what reaches the sink, byte for byte.
 */
import { describe, expect, it } from 'vitest';
import { elisionNote } from '../../src/log/task-log-format.js';
import { createCappedOutput } from '../../workers/capped-output.js';

/** A capping writer over an in-memory sink. */
function capture(capBytes: number) {
  const chunks: Buffer[] = [];
  const capped = createCappedOutput(capBytes, (chunk) => chunks.push(Buffer.from(chunk)));
  return { capped, text: () => Buffer.concat(chunks).toString('utf8'), bytes: () => Buffer.concat(chunks) };
}

/** `n` bytes of a recognisable, position-dependent pattern. */
function pattern(n: number, from = 0): string {
  let s = '';
  for (let i = from; i < from + n; i += 1) s += String.fromCharCode(97 + (i % 26));
  return s;
}

describe('createCappedOutput', () => {
  it('passes output below the cap through unchanged, notes in place', () => {
    const { capped, text } = capture(100);
    capped.note('[coord] header\n');
    capped.output('hello ');
    capped.output('world\n');
    capped.note('[coord] ended\n');
    expect(capped.finish()).toEqual({ outputBytes: 12, keptBytes: 12, capBytes: 100, truncated: false });
    expect(text()).toBe('[coord] header\nhello world\n[coord] ended\n');
  });

  it('keeps output of exactly the cap whole, also when it crosses into the tail buffer', () => {
    const { capped, text } = capture(100);
    const all = pattern(100);
    for (let i = 0; i < 100; i += 7) capped.output(all.slice(i, i + 7));
    capped.note('[coord] ended\n');
    expect(capped.finish()).toEqual({ outputBytes: 100, keptBytes: 100, capBytes: 100, truncated: false });
    expect(text()).toBe(`${all}[coord] ended\n`);
  });

  it('above the cap writes the first half, the note, then the last half, exactly', () => {
    const { capped, text } = capture(100);
    const all = pattern(1_000);
    capped.note('H\n');
    for (let i = 0; i < all.length; i += 13) capped.output(all.slice(i, i + 13));
    capped.note('E\n');
    expect(capped.finish()).toEqual({ outputBytes: 1_000, keptBytes: 100, capBytes: 100, truncated: true });
    expect(text()).toBe(`H\n${all.slice(0, 50)}${elisionNote(900, 100)}${all.slice(950)}E\n`);
  });

  it('handles one chunk larger than the whole cap', () => {
    const { capped, text } = capture(100);
    const all = pattern(10_000);
    capped.output(all);
    expect(capped.finish()).toMatchObject({ outputBytes: 10_000, keptBytes: 100, truncated: true });
    expect(text()).toBe(`${all.slice(0, 50)}${elisionNote(9_900, 100)}${all.slice(9_950)}`);
  });

  it('keeps coord lines said after the head filled: in the tail in place, or after the note when elided', () => {
    const { capped, text } = capture(100);
    capped.output(pattern(60));
    capped.note('[coord] timed out\n'); // at offset 60: its neighbourhood will be elided
    capped.output(pattern(200, 60));
    capped.note('[coord] SIGKILL\n'); // at offset 260, inside the kept tail
    capped.output(pattern(20, 260));
    capped.note('[coord] ended\n');
    capped.finish();
    expect(text()).toBe(`${pattern(50)}${elisionNote(180, 100)}[coord] timed out\n${pattern(30, 230)}[coord] SIGKILL\n`
      + `${pattern(20, 260)}[coord] ended\n`);
  });

  it('never splits a UTF-8 character at either side of the note; bytes are what count', () => {
    const { capped, bytes } = capture(10);
    // "é" is 2 bytes, "€" is 3: the head's 5th byte and the tail's first fall inside characters.
    capped.output('abcdé€€€€€x€€');
    const trailer = capped.finish();
    const written = bytes();
    expect(written.toString('utf8')).not.toContain('\uFFFD');
    expect(written.toString('utf8')).toBe(`abcd${elisionNote(trailer.outputBytes - trailer.keptBytes, 10)}€`);
    expect(trailer).toEqual({ outputBytes: 28, keptBytes: 4 + 3, capBytes: 10, truncated: true });
  });

  it('holds at most the tail half in memory, however much is written', () => {
    const { capped } = capture(4_096);
    const chunk = pattern(1_000);
    let most = 0;
    for (let i = 0; i < 20_000; i += 1) {
      capped.output(chunk);
      most = Math.max(most, capped.heldBytes());
    }
    expect(most).toBe(2_048);
    expect(capped.finish()).toMatchObject({ outputBytes: 20_000_000, keptBytes: 4_096, truncated: true });
  });

  it('ignores writes after finish', () => {
    const { capped, text } = capture(100);
    capped.output('a');
    capped.finish();
    capped.output('b');
    capped.note('c');
    expect(text()).toBe('a');
  });
});
