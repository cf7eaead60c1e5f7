/**
 * A benchmark's output: printed to the terminal as it is, and written as one markdown
 * section to `bench/results/<name>.md`, which `bench/run.mjs` assembles into
 * `docs/benchmarks.md`. One file per benchmark is what lets `npm run bench -- <name>`
 * refresh its own section and leave the others as they were last measured.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

/** Where sections are written; the runner reads the same folder. */
export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

/** A markdown table with padded columns (readable both rendered and raw). */
export function table(header: readonly string[], rows: readonly (readonly string[])[], align: readonly ('l' | 'r')[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const cell = (text: string, i: number): string => ((align[i] ?? (i === 0 ? 'l' : 'r')) === 'l' ? text.padEnd(widths[i] as number) : text.padStart(widths[i] as number));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => cell(c, i)).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => ((align[i] ?? (i === 0 ? 'l' : 'r')) === 'l' ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** Collects one benchmark's section, then prints and writes it. */
export class Report {
  readonly #parts: string[] = [];
  readonly #started = performance.now();

  /**
   * @param name the benchmark's name (its file is `bench/<name>.bench.ts`)
   * @param title the section heading
   */
  constructor(
    readonly name: string,
    readonly title: string,
  ) {}

  /** A paragraph of prose. */
  text(paragraph: string): this {
    this.#parts.push(paragraph.trim());
    return this;
  }

  /** A table, with an optional caption line above it. */
  table(caption: string | null, header: readonly string[], rows: readonly (readonly string[])[], align?: readonly ('l' | 'r')[]): this {
    this.#parts.push(caption === null ? table(header, rows, align) : `${caption}\n\n${table(header, rows, align)}`);
    return this;
  }

  /** Prints the section and writes it to `bench/results/<name>.md`. */
  write(): void {
    const seconds = (performance.now() - this.#started) / 1000;
    const stamp = `_Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${os.cpus().length} CPUs, `
      + `Node ${process.version}; the benchmark took ${seconds.toFixed(0)} s._`;
    const markdown = [`## ${this.title} (\`${this.name}\`)`, ...this.#parts, stamp].join('\n\n') + '\n';
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(path.join(RESULTS_DIR, `${this.name}.md`), markdown);
    process.stdout.write(`\n${markdown}`);
  }
}
