/**
 * What every parser does to a line before reading it, and the small readers of untyped JSON
 * they share. Lines come from a PTY: `\r\n` endings, terminal escapes (Claude Code shows the
 * cursor again, `ESC[?25h`, as it exits), banners and warnings between the JSON lines, and
 * now and then a line cut short. None of that may throw.
 */
import { NO_USAGE, type AgentFacts, type AgentOutputParser, type AgentParserKind, type AgentUsage } from '../types.js';

/** CSI sequences (`ESC [ … final`), OSC sequences (`ESC ] … BEL|ST`) and lone two-byte escapes. */
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]/g;

/** The line without its carriage returns and terminal escapes, trimmed. */
export function cleanLine(line: string): string {
  return line.replace(ANSI, '').replace(/\r/g, '').trim();
}

/** A JSON object read from a cleaned line, or null (not JSON, not an object, cut short). */
export function parseJsonObject(line: string): Record<string, unknown> | null {
  // An escape or a stray prefix glued to the JSON (no newline between them on a PTY).
  const start = line.indexOf('{');
  if (start === -1 || !line.endsWith('}')) return null;
  try {
    const value: unknown = JSON.parse(line.slice(start));
    return isRecord(value) ? value : null;
  } catch {
    return null;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A finite number, or null. */
export function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** A string, or null. */
export function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** The object at `value[key]`, or an empty one. */
export function field(value: unknown, key: string): Record<string, unknown> {
  const inner = isRecord(value) ? value[key] : undefined;
  return isRecord(inner) ? inner : {};
}

/** Facts before any line. */
export function emptyFacts(): AgentFacts {
  return {
    sessionId: null, model: null, usage: { ...NO_USAGE }, result: null, rateLimit: null,
    auth: null, needsInput: null, apiError: null, lastEventAt: null, events: 0,
  };
}

/** A copy of `facts` safe to hand out (callers may keep it while the parser goes on). */
export function snapshot(facts: AgentFacts): AgentFacts {
  return {
    ...facts,
    usage: { ...facts.usage },
    result: facts.result && { ...facts.result },
    rateLimit: facts.rateLimit && { ...facts.rateLimit },
    auth: facts.auth && { ...facts.auth },
    needsInput: facts.needsInput && { ...facts.needsInput },
    apiError: facts.apiError && { ...facts.apiError },
  };
}

/** `a + b`, field by field (cost: null + null stays null). */
export function addUsage(a: AgentUsage, b: AgentUsage): AgentUsage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
    costUsd: a.costUsd === null && b.costUsd === null ? null : (a.costUsd ?? 0) + (b.costUsd ?? 0),
  };
}

export function sameUsage(a: AgentUsage, b: AgentUsage): boolean {
  return a.inputTokens === b.inputTokens && a.outputTokens === b.outputTokens && a.cacheReadTokens === b.cacheReadTokens
    && a.cacheWriteTokens === b.cacheWriteTokens && a.costUsd === b.costUsd;
}

/** Shortens a message for a fact (a result text can be pages long). */
export function brief(text: string, max = 500): string {
  const flat = text.trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/** The facts as a string, without the event count and time (which change with every event). */
function comparable(facts: AgentFacts): string {
  const { lastEventAt: _at, events: _events, ...rest } = facts;
  return JSON.stringify(rest);
}

/**
 * Runs `read` on the parser's facts and tells whether it changed them (a new event alone is
 * not a change worth sending on). A parser never throws: a line it cannot read is skipped.
 */
export function readChanges(facts: () => AgentFacts, read: () => void): boolean {
  const before = comparable(facts());
  try {
    read();
  } catch {
    // Whatever the line did before it failed still counts.
  }
  return comparable(facts()) !== before;
}

/**
 * What every parser does the same: lines cleaned of PTY residue, facts kept in `state` and
 * handed out as snapshots, and `push` saying whether a line changed them. A parser reads one
 * clean line in {@link read}.
 */
export abstract class LineParser implements AgentOutputParser {
  abstract readonly kind: AgentParserKind;
  protected readonly state: AgentFacts = emptyFacts();

  push(line: string, now: number): boolean {
    return readChanges(() => this.state, () => this.read(cleanLine(line), now));
  }

  facts(): AgentFacts {
    return snapshot(this.state);
  }

  /** Reads one line, cleaned (possibly empty). */
  protected abstract read(line: string, now: number): void;
}
