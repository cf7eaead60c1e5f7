/**
 * Reads `codex exec --json` (JSONL; recorded from the real CLI, 0.171.0, against the local
 * Responses emulator; the event types are codex-rs/exec/src/exec_events.rs):
 *
 * - `thread.started`: `thread_id`, the session id (`codex exec resume <id>` takes it);
 * - `item.started` / `item.updated` / `item.completed`: `item.type` one of `agent_message`
 *   (`text`), `reasoning`, `command_execution` (`status` `completed | failed | declined`),
 *   `file_change`, `mcp_tool_call`, `web_search`, `todo_list`, `error` (a non-fatal notice,
 *   e.g. unknown model metadata: not a failure);
 * - `turn.completed`: `usage` `{ input_tokens, cached_input_tokens, cache_write_input_tokens,
 *   output_tokens, reasoning_output_tokens }`. `input_tokens` includes the cached ones. The
 *   figures are the thread's running totals (a resumed thread's first turn reports the
 *   earlier runs' tokens too), so the latest one replaces, never adds. No cost is reported.
 * - `turn.failed`: `error.message`; `error`: `message` (also the "Reconnecting... n/5 (…)"
 *   notices while Codex retries a 429, a 401 or a 5xx);
 * - `request_user_input`: the model asked questions (`questions[].question`).
 */
import type { AgentOutputParser } from '../types.js';
import { brief, field, isRecord, LineParser, num, parseJsonObject, str } from './lines.js';
import { mentionsAuthFailure, mentionsRateLimit } from './phrases.js';
import { parseResetTime } from './reset-time.js';

class CodexJsonParser extends LineParser {
  readonly kind = 'codex-json' as const;
  #lastMessage: string | null = null;


  protected read(line: string, now: number): void {
    if (line === '') return;
    const event = parseJsonObject(line);
    if (event === null || typeof event.type !== 'string') {
      // Plain lines are Codex's stderr on a PTY (a sandbox warning, "Reading additional input
      // from stdin..."); a refused key can show there before any event.
      if (mentionsAuthFailure(line)) this.state.auth ??= { message: authMessage(line) };
      return;
    }
    this.state.events += 1;
    this.state.lastEventAt = now;
    switch (event.type) {
      case 'thread.started':
        this.state.sessionId = str(event.thread_id) ?? this.state.sessionId;
        return;
      case 'item.started':
      case 'item.updated':
      case 'item.completed':
        this.#readItem(field(event, 'item'), event.type === 'item.completed');
        return;
      case 'turn.completed':
        this.#readUsage(field(event, 'usage'));
        this.state.result = { isError: false, subtype: 'turn.completed', text: this.#lastMessage, at: now };
        return;
      case 'turn.failed': {
        const message = str(field(event, 'error').message) ?? 'turn failed';
        this.#readError(message, now);
        this.state.result = { isError: true, subtype: 'turn.failed', text: message, at: now };
        return;
      }
      case 'error':
        this.#readError(str(event.message) ?? '', now);
        return;
      case 'request_user_input': {
        const questions = Array.isArray(event.questions) ? event.questions.filter(isRecord).map((q) => str(q.question)).filter((q) => q !== null) : [];
        this.state.needsInput = { message: `Codex asked: ${brief(questions.join(' / ') || 'a question')}; an exec run cannot answer it` };
        return;
      }
      default:
        return;
    }
  }

  #readItem(item: Record<string, unknown>, completed: boolean): void {
    if (item.type === 'agent_message' && completed) this.#lastMessage = str(item.text) ?? this.#lastMessage;
    if (item.type === 'command_execution' && item.status === 'declined') {
      this.state.needsInput = { message: `Codex needed approval to run ${brief(str(item.command) ?? 'a command', 120)}, which an exec run cannot give: change the sandbox or approval settings, or the prompt` };
    }
  }

  #readUsage(usage: Record<string, unknown>): void {
    const input = num(usage.input_tokens) ?? 0;
    const cached = num(usage.cached_input_tokens) ?? 0;
    this.state.usage = {
      inputTokens: Math.max(0, input - cached),
      outputTokens: num(usage.output_tokens) ?? 0,
      cacheReadTokens: cached,
      cacheWriteTokens: num(usage.cache_write_input_tokens) ?? 0,
      costUsd: null,
    };
  }

  #readError(message: string, now: number): void {
    if (mentionsRateLimit(message)) {
      const reset = parseResetTime(message, now);
      this.state.rateLimit = { ...reset, message: `Codex: ${brief(message)}` };
    } else if (mentionsAuthFailure(message)) {
      this.state.auth = { message: authMessage(message) };
    } else if (message !== '') {
      const status = /\bstatus (\d{3})\b/.exec(message);
      this.state.apiError = { status: status === null ? null : Number(status[1]), message: `Codex: ${brief(message)}` };
    }
  }
}

/** Says which login is missing or refused, and how to fix it. */
function authMessage(text: string): string {
  const said = brief(text.replace(/^Reconnecting\.\.\. \d+\/\d+ \((.*)\)$/, '$1'), 240);
  const variable = /missing environment variable:?\s*`?([A-Z0-9_]+)`?/i.exec(text);
  if (variable !== null) return `Codex's provider key ${variable[1]} is not set: set it in the profile's env, or log in with \`codex login\``;
  if (/\b(api key|x-api-key)\b/i.test(text)) return `Codex's API key was refused: ${said}. Set a valid OPENAI_API_KEY (or the provider's env_key), or log in with \`codex login\``;
  return `Codex is not logged in or its login was refused: ${said}. Log in with \`codex login\` or set OPENAI_API_KEY`;
}

/** A parser for `codex exec --json`. */
export function createCodexJsonParser(): AgentOutputParser {
  return new CodexJsonParser();
}
