/**
 * Reads Gemini CLI's `--output-format stream-json` (JSONL). Implemented from the CLI's source
 * (packages/core/src/output/types.ts and stream-json-formatter.ts of google-gemini/gemini-cli)
 * and its tests' examples; not recorded from a real run (it needs Google's API):
 *
 * - `init`: `session_id`, `model`;
 * - `message`: `role` `user | assistant`, `content`, `delta` (assistant text comes in pieces);
 * - `tool_use` / `tool_result`: `tool_name`, `tool_id`, `status` `success | error`;
 * - `error`: `severity` `warning | error`, `message` (e.g. "Loop detected, stopping execution");
 * - `result`: `status` `success | error`, `error` `{ type, message }` (a fatal error: the CLI
 *   emits it and exits with the error's code, 41 for a missing auth method), `stats`
 *   `{ total_tokens, input_tokens, output_tokens, cached, input, duration_ms, tool_calls }`
 *   where `input_tokens` includes the `cached` ones and `input` is the rest, summed over
 *   models. No cost is reported.
 *
 * API errors read "[API Error: … (Status: RESOURCE_EXHAUSTED)]" with Google's wording for
 * quotas ("You have exhausted your capacity on this model. Your quota will reset after
 * 1h49m8s.", "Please retry in 12.5s").
 */
import type { AgentOutputParser } from '../types.js';
import { brief, field, isRecord, LineParser, num, parseJsonObject, str } from './lines.js';
import { mentionsAuthFailure, mentionsRateLimit } from './phrases.js';
import { parseResetTime } from './reset-time.js';

class GeminiStreamJsonParser extends LineParser {
  readonly kind = 'gemini-stream-json' as const;
  #text = '';


  protected read(line: string, now: number): void {
    if (line === '') return;
    const event = parseJsonObject(line);
    if (event === null || typeof event.type !== 'string') {
      // stderr on a PTY: "[WARNING] …", or a fatal auth error printed before any event.
      this.#readError(line, now, false);
      return;
    }
    this.state.events += 1;
    this.state.lastEventAt = now;
    switch (event.type) {
      case 'init':
        this.state.sessionId = str(event.session_id) ?? this.state.sessionId;
        this.state.model = str(event.model) ?? this.state.model;
        return;
      case 'message':
        if (event.role === 'assistant') {
          const content = str(event.content) ?? '';
          this.#text = event.delta === true ? this.#text + content : content;
        }
        return;
      case 'error':
        this.#readError(str(event.message) ?? '', now, event.severity === 'error');
        return;
      case 'result':
        this.#readResult(event, now);
        return;
      default:
        return;
    }
  }

  #readResult(event: Record<string, unknown>, now: number): void {
    const isError = event.status === 'error';
    const error = field(event, 'error');
    const message = str(error.message);
    this.state.result = { isError, subtype: isError ? str(error.type) ?? 'error' : 'success', text: isError ? message : this.#text || null, at: now };
    if (isError && message !== null) this.#readError(message, now, true);
    if (isRecord(event.stats)) {
      const stats = event.stats;
      const cached = num(stats.cached) ?? 0;
      this.state.usage = {
        inputTokens: num(stats.input) ?? Math.max(0, (num(stats.input_tokens) ?? 0) - cached),
        outputTokens: num(stats.output_tokens) ?? 0,
        cacheReadTokens: cached,
        cacheWriteTokens: 0,
        costUsd: null,
      };
    }
  }

  #readError(message: string, now: number, fatal: boolean): void {
    if (mentionsRateLimit(message)) {
      this.state.rateLimit = { ...parseResetTime(message, now), message: `Gemini CLI: ${brief(message)}` };
    } else if (mentionsAuthFailure(message)) {
      this.state.auth = {
        message: `Gemini CLI's login is missing or was refused: ${brief(message, 240)}. Log in with \`gemini\` (Login with Google) or set GEMINI_API_KEY`,
      };
    } else if (fatal && message !== '') {
      const status = /\b([45]\d\d)\b/.exec(message);
      this.state.apiError = { status: status === null ? null : Number(status[1]), message: `Gemini CLI: ${brief(message)}` };
    }
  }
}

/** A parser for Gemini CLI's stream-json output. */
export function createGeminiStreamJsonParser(): AgentOutputParser {
  return new GeminiStreamJsonParser();
}
