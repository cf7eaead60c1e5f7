/**
 * Reads an agent with no structured output (Aider, a script): no session, no result event;
 * only well-known phrases say something, line by line: a rate limit (litellm's
 * `RateLimitError`, "The API provider has rate limited you"), a refused login
 * (`AuthenticationError`, "invalid x-api-key"), a prompt waiting for an answer at the end of
 * its line (Aider's "(Y)es/(N)o [Yes]:" when it was not started with --yes-always). Aider's
 * token report ("Tokens: 4.6k sent, 2.1k cache hit, 286 received. Cost: $0.02 message,
 * $0.05 session.") gives usage, rounded as Aider rounds it.
 */
import type { AgentOutputParser } from '../types.js';
import { brief, LineParser } from './lines.js';
import { isInputPrompt, mentionsAuthFailure, mentionsRateLimit } from './phrases.js';
import { parseResetTime } from './reset-time.js';

/** "4.6k" → 4600, "286" → 286, "1.2M" → 1200000. */
function count(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text);
  if (match === null) return 0;
  const scale = match[2] === '' ? 1 : /k/i.test(match[2]!) ? 1_000 : 1_000_000;
  return Math.round(Number(match[1]) * scale);
}

class TextParser extends LineParser {
  readonly kind = 'text' as const;


  protected read(line: string, now: number): void {
    if (line === '') return;
    // Every line is a sign of life; there are no events to count otherwise.
    this.state.events += 1;
    this.state.lastEventAt = now;
    if (this.#readTokens(line)) return;
    if (mentionsRateLimit(line)) {
      this.state.rateLimit = { ...parseResetTime(line, now), message: brief(line) };
    } else if (mentionsAuthFailure(line)) {
      this.state.auth = { message: `${brief(line, 240)}: the agent's login (its provider's API key or its own login) is missing or was refused` };
    } else if (isInputPrompt(line)) {
      this.state.needsInput = { message: `the agent is waiting for an answer: ${brief(line, 240)}` };
    }
  }

  /** Aider's per-message report, added up. */
  #readTokens(line: string): boolean {
    const match = /^Tokens:\s*(.+?)\.\s*Cost:\s*\$(\d+(?:\.\d+)?)\s*message/i.exec(line);
    if (match === null) return false;
    const usage = { ...this.state.usage };
    for (const part of match[1]!.split(',')) {
      const item = /^\s*(\S+)\s+(.+?)\s*$/.exec(part);
      if (item === null) continue;
      const n = count(item[1]!);
      const what = item[2]!.toLowerCase();
      if (what === 'sent') usage.inputTokens += n;
      else if (what === 'received') usage.outputTokens += n;
      else if (what === 'cache hit') usage.cacheReadTokens += n;
      else if (what === 'cache write') usage.cacheWriteTokens += n;
    }
    usage.costUsd = (usage.costUsd ?? 0) + Number(match[2]);
    this.state.usage = usage;
    return true;
  }
}

/** A parser for unstructured output. */
export function createTextParser(): AgentOutputParser {
  return new TextParser();
}
