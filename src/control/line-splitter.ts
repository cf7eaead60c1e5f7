/**
 * Splits a byte stream into newline-terminated lines, refusing any line longer than a limit
 * without holding it: once a line passes the limit its bytes are dropped up to the next
 * newline, and it is reported once as oversized. Pure: fed chunks, it returns what they held.
 */

export type SplitItem = { kind: 'line'; line: string } | { kind: 'oversized'; bytes: number };

export class LineSplitter {
  private parts: Buffer[] = [];
  private held = 0;
  /** Bytes of the current line dropped so far; -1 while the line is within the limit. */
  private dropping = -1;

  constructor(private readonly maxLineBytes: number) {}

  /** The complete lines (and oversized ones) this chunk finished. */
  push(chunk: Buffer): SplitItem[] {
    const items: SplitItem[] = [];
    let start = 0;
    for (let newline = chunk.indexOf(10, start); newline !== -1; newline = chunk.indexOf(10, start)) {
      this.take(chunk.subarray(start, newline));
      items.push(this.endLine());
      start = newline + 1;
    }
    this.take(chunk.subarray(start));
    return items;
  }

  private take(bytes: Buffer): void {
    if (bytes.length === 0) return;
    if (this.dropping >= 0) {
      this.dropping += bytes.length;
      return;
    }
    if (this.held + bytes.length > this.maxLineBytes) {
      this.dropping = this.held + bytes.length;
      this.parts = [];
      this.held = 0;
      return;
    }
    this.parts.push(bytes);
    this.held += bytes.length;
  }

  private endLine(): SplitItem {
    if (this.dropping >= 0) {
      const bytes = this.dropping;
      this.dropping = -1;
      return { kind: 'oversized', bytes };
    }
    const line = Buffer.concat(this.parts, this.held).toString('utf8').replace(/\r$/, '');
    this.parts = [];
    this.held = 0;
    return { kind: 'line', line };
  }
}
