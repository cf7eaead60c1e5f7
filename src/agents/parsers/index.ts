/**
 * The parsers of agents' output, one per format coord reads (`AGENT_PARSERS` in ../types.ts).
 *
 * @example
 * const parser = createParser('claude-stream-json');
 * for (const line of lines) if (parser.push(line, Date.now())) report(parser.facts());
 * const outcome = classifyAgentOutcome(parser.facts(), exit);
 */
import type { AgentOutputParser, AgentParserKind } from '../types.js';
import { createClaudeStreamJsonParser } from './claude-stream-json.js';
import { createCodexJsonParser } from './codex-json.js';
import { createGeminiStreamJsonParser } from './gemini-stream-json.js';
import { createTextParser } from './text.js';

const FACTORIES: Readonly<Record<AgentParserKind, () => AgentOutputParser>> = {
  'claude-stream-json': createClaudeStreamJsonParser,
  'codex-json': createCodexJsonParser,
  'gemini-stream-json': createGeminiStreamJsonParser,
  text: createTextParser,
};

/** A fresh parser for `kind` (one per attempt: parsers keep state). */
export function createParser(kind: AgentParserKind): AgentOutputParser {
  return FACTORIES[kind]();
}
