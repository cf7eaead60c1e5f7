/**
 * The recorded output of the real CLIs (test/fixtures/agent-recordings/), as a parser gets it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createParser } from '../../src/agents/parsers/index.js';
import type { AgentFacts, AgentOutputParser, AgentParserKind } from '../../src/agents/types.js';

const DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'agent-recordings');

/** A recording's lines (a `.raw` PTY recording split on `\n`, its `\r` kept). */
export function recording(name: string): string[] {
  const file = path.join(DIR, name);
  const text = readFileSync(file, 'utf8');
  return text.split('\n').filter((line, i, all) => line !== '' || i < all.length - 1);
}

/** The first value of `key` in a recording's JSON lines. */
export function firstValue(name: string, key: string): unknown {
  for (const line of recording(name)) {
    try {
      const value = (JSON.parse(line) as Record<string, unknown>)[key];
      if (value !== undefined) return value;
    } catch {
      // not a JSON line
    }
  }
  return undefined;
}

/** Feeds `lines` one per millisecond from `t0`; returns the parser and what each push returned. */
export function feed(kind: AgentParserKind | AgentOutputParser, lines: readonly string[], t0 = 1_000): { parser: AgentOutputParser; changed: boolean[]; facts: AgentFacts } {
  const parser = typeof kind === 'string' ? createParser(kind) : kind;
  const changed = lines.map((line, i) => parser.push(line, t0 + i));
  return { parser, changed, facts: parser.facts() };
}
