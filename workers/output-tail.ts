/**
 * The last lines a task printed, for the one-line answer to "why did it fail?" (the whole
 * output is in its log). Terminal output is cleaned the way a reader sees it: escape
 * sequences dropped, a line redrawn with `\r` keeps its last drawing, blank lines skipped.
 */

/** How much of the output's end is kept to find the last lines in. */
const KEPT_CHARS = 8_192;
/** A line longer than this is cut (with an ellipsis): the tail is a hint, not the log. */
const MAX_LINE_CHARS = 240;

// CSI sequences (colours, cursor moves), OSC sequences (titles, links), other two-byte escapes.
// eslint-disable-next-line no-control-regex
const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

export class OutputTail {
  private kept = '';

  /** Adds output as it arrives. */
  push(text: string): void {
    this.kept = (this.kept + text).slice(-KEPT_CHARS);
  }

  /** The last `count` non-blank lines, oldest first. */
  lines(count = 5): string[] {
    return lastLines(this.kept, count);
  }
}

/** The last `count` non-blank lines of terminal output `text`, cleaned for reading. */
export function lastLines(text: string, count: number): string[] {
  const lines = text
    .replace(ESCAPES, '')
    .split('\n')
    .map((line) => line.split('\r').filter((part) => part.trim() !== '').at(-1) ?? '')
    .map((line) => line.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '').trimEnd())
    .filter((line) => line.trim() !== '');
  return lines.slice(-count).map((line) => (line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS - 1)}…` : line));
}
