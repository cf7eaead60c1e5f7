/**
 * Head-and-tail capping of one attempt's output. The first half of the cap goes to the sink
 * as it comes (the start of a run says what it was doing); after that, output only goes into
 * a fixed ring buffer holding the last half (the end says how it finished). At `finish` the
 * ring is written after an elision note. Memory is bounded by the cap, whatever the output
 * size: the ring is one buffer of half the cap, allocated when the head fills.
 *
 * coord's own lines (`note`) are never capped and never dropped: while the head has room they
 * go straight to the sink; later they are held beside the ring with the output offset they
 * were said at, and written back in place (or just after the elision note, when the output
 * around them was elided).
 */
import { elisionNote, type LogTrailer } from '../src/log/task-log-format.js';

/** Where the kept bytes go (a file stream). Buffers passed to it are never reused. */
export type ByteSink = (chunk: string | Buffer) => void;

/** A capping writer for one attempt. */
export interface CappedOutput {
  /** Task output. */
  output(text: string | Buffer): void;
  /** One of coord's own lines: always kept, in order with the output around it. */
  note(text: string): void;
  /** Writes what is held (note and tail) and returns the trailer's figures; later writes are ignored. */
  finish(): LogTrailer;
  /** Bytes held in memory: the ring (once allocated) and the held notes. */
  heldBytes(): number;
}

/** A note said after the head filled, at output offset `at`. */
interface HeldNote {
  at: number;
  text: string;
}

/** coord says a handful of lines per attempt (timeout, SIGKILL, ended); more would be a bug, not a reason to grow. */
const MAX_HELD_NOTES = 64;

/** The largest k <= n that does not fall inside a UTF-8 character of `bytes` (at most 3 steps back). */
function charBoundary(bytes: Buffer, n: number): number {
  let k = n;
  while (k > 0 && n - k < 3 && k < bytes.length && ((bytes[k] ?? 0) & 0xc0) === 0x80) k -= 1;
  return k < bytes.length && ((bytes[k] ?? 0) & 0xc0) === 0x80 ? n : k;
}

/**
 * Creates a capping writer keeping at most `capBytes` of output (integer >= 2).
 *
 * @example
 * const capped = createCappedOutput(52_428_800, (chunk) => stream.write(chunk));
 * capped.note('[coord] header\n');
 * capped.output(data);
 * stream.write(formatLogTrailer(capped.finish()));
 */
export function createCappedOutput(capBytes: number, sink: ByteSink): CappedOutput {
  const headCap = Math.floor(capBytes / 2);
  const tailCap = capBytes - headCap;
  let headBytes = 0;
  let headFull = false;
  let outputBytes = 0;
  let ring: Buffer | undefined;
  let ringLen = 0; // valid bytes in the ring (<= tailCap)
  let ringEnd = 0; // next write index
  const held: HeldNote[] = [];
  let finished: LogTrailer | undefined;

  const pushTail = (bytes: Buffer): void => {
    ring ??= Buffer.allocUnsafe(tailCap);
    if (bytes.length >= tailCap) {
      bytes.copy(ring, 0, bytes.length - tailCap);
      ringEnd = 0;
      ringLen = tailCap;
      return;
    }
    const first = Math.min(bytes.length, tailCap - ringEnd);
    bytes.copy(ring, ringEnd, 0, first);
    bytes.copy(ring, 0, first);
    ringEnd = (ringEnd + bytes.length) % tailCap;
    ringLen = Math.min(tailCap, ringLen + bytes.length);
  };

  /** Writes output bytes [from, to) (absolute offsets, all inside the ring). */
  const writeRing = (from: number, to: number): void => {
    if (!ring || to <= from) return;
    const ringFirst = outputBytes - ringLen;
    const startIndex = ringLen < tailCap ? 0 : ringEnd;
    const a = (startIndex + (from - ringFirst)) % tailCap;
    const length = to - from;
    const firstPart = Math.min(length, tailCap - a);
    sink(ring.subarray(a, a + firstPart));
    if (firstPart < length) sink(ring.subarray(0, length - firstPart));
  };

  return {
    output(text) {
      if (finished) return;
      if (!headFull) {
        const length = typeof text === 'string' ? Buffer.byteLength(text) : text.length;
        if (headBytes + length <= headCap) {
          // The common case below the cap: no copy, the text goes straight through.
          headBytes += length;
          outputBytes += length;
          sink(text);
          if (headBytes === headCap) headFull = true;
          return;
        }
        const bytes = typeof text === 'string' ? Buffer.from(text) : text;
        const cut = charBoundary(bytes, headCap - headBytes);
        sink(bytes.subarray(0, cut));
        headBytes += cut;
        outputBytes += bytes.length;
        headFull = true;
        pushTail(bytes.subarray(cut));
        return;
      }
      const bytes = typeof text === 'string' ? Buffer.from(text) : text;
      outputBytes += bytes.length;
      pushTail(bytes);
    },
    note(text) {
      if (finished) return;
      if (!headFull) sink(text);
      else if (held.length < MAX_HELD_NOTES) held.push({ at: outputBytes, text });
    },
    finish() {
      if (finished) return finished;
      let tailStart = outputBytes - ringLen;
      // Don't start the tail inside a character the elision cut in two.
      if (ring && tailStart > headBytes) {
        const startIndex = ringLen < tailCap ? 0 : ringEnd;
        let skipped = 0;
        while (skipped < 3 && tailStart < outputBytes && ((ring[(startIndex + skipped) % tailCap] ?? 0) & 0xc0) === 0x80) {
          skipped += 1;
          tailStart += 1;
        }
      }
      const elided = tailStart - headBytes;
      if (elided > 0) sink(elisionNote(elided, capBytes));
      let at = tailStart;
      for (const note of held) {
        if (note.at > at) {
          writeRing(at, note.at);
          at = note.at;
        }
        sink(note.text);
      }
      writeRing(at, outputBytes);
      held.length = 0;
      finished = { outputBytes, keptBytes: headBytes + (outputBytes - tailStart), capBytes, truncated: elided > 0 };
      return finished;
    },
    heldBytes() {
      return (ring?.length ?? 0) + held.reduce((sum, note) => sum + Buffer.byteLength(note.text), 0);
    },
  };
}
