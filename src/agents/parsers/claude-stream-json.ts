/**
 * Reads Claude Code's `-p --output-format stream-json --verbose` output (formats recorded
 * from the real CLI, 2.1.332, in test/fixtures/agent-recordings/):
 *
 * - `system/init`: `session_id`, `model`, `apiKeySource` (which login it uses: the
 *   `ANTHROPIC_API_KEY` variable, `none`, …), kept for the auth message;
 * - `assistant`: one line per content block, so one API message with a text and a tool call
 *   comes as two lines with the same `message.id` and the same `usage` repeated. That usage is
 *   the stream's `message_start` snapshot (its output count is the start's, usually 1), so
 *   usage is kept per message id, replaced rather than added, until the `result` brings the
 *   true totals. A line with `model: "<synthetic>"` is the CLI's own error message (its
 *   `api_error_status`, `error: "rate_limit" | "authentication_failed" | …`);
 * - `system/api_retry`: `attempt`, `max_retries`, `retry_delay_ms`, `error_status`, `error`;
 *   the CLI retries 429, 401, 5xx and 529 alike (10 times by default: ~3 minutes);
 * - `result`: `session_id`, `is_error` (true on an API error even with `subtype: "success"`),
 *   `subtype`, `result` text (or `errors` when there is none), `usage` (this run's tokens),
 *   `total_cost_usd` (the session's: on a resumed session it includes the earlier runs),
 *   `model_usage_since_last_result` (this run's, per model, with `costUSD`),
 *   `api_error_status`, `permission_denials` (tools a -p run refused: it cannot ask; each
 *   also came as it happened, as `system/permission_denied` with `tool_name` and `message`).
 * - with `--include-partial-messages`, `stream_event` lines wrap the raw API events; their
 *   `message_delta` carries the final output count of the message being streamed.
 */
import { NO_USAGE, type AgentOutputParser, type AgentUsage } from '../types.js';
import { addUsage, brief, field, isRecord, LineParser, num, parseJsonObject, str } from './lines.js';
import { mentionsAuthFailure, mentionsRateLimit } from './phrases.js';
import { parseResetTime } from './reset-time.js';

/** Anthropic's usage object → tokens (cost unknown here). */
function tokensOf(usage: Record<string, unknown>): AgentUsage {
  return {
    inputTokens: num(usage.input_tokens) ?? 0,
    outputTokens: num(usage.output_tokens) ?? 0,
    cacheReadTokens: num(usage.cache_read_input_tokens) ?? 0,
    cacheWriteTokens: num(usage.cache_creation_input_tokens) ?? 0,
    costUsd: null,
  };
}

/** The sum of `costUSD` over a per-model usage map, or null when none is given. */
function costOf(perModel: unknown): number | null {
  if (!isRecord(perModel)) return null;
  let total: number | null = null;
  for (const entry of Object.values(perModel)) {
    const cost = isRecord(entry) ? num(entry.costUSD) : null;
    if (cost !== null) total = (total ?? 0) + cost;
  }
  return total;
}

/** The text blocks of an assistant message. */
function textOf(message: Record<string, unknown>): string {
  const content = message.content;
  if (!Array.isArray(content)) return '';
  return content.map((block) => (isRecord(block) && block.type === 'text' ? str(block.text) ?? '' : '')).join('');
}

function needsApproval(what: string[]): string {
  return `Claude Code needed approval for ${what.join(', ')}, which a -p run cannot give: allow it (--allowedTools, a permission mode) or change the prompt`;
}

class ClaudeStreamJsonParser extends LineParser {
  readonly kind = 'claude-stream-json' as const;
  /** Totals as of the last `result` (tokens of earlier runs in this process; cost as reported). */
  #settled: AgentUsage = { ...NO_USAGE };
  /** In-flight messages since the last result, by API message id (latest snapshot wins). */
  #messages = new Map<string, AgentUsage>();
  /** The message `stream_event` deltas belong to. */
  #streaming: string | null = null;
  /** Which login the CLI said it uses (`apiKeySource` of `system/init`). */
  #login: string | null = null;


  protected read(line: string, now: number): void {
    if (line === '') return;
    const event = parseJsonObject(line);
    if (event === null || typeof event.type !== 'string') {
      this.#readText(line, now);
      return;
    }
    this.state.events += 1;
    this.state.lastEventAt = now;
    const sessionId = str(event.session_id);
    if (sessionId !== null && sessionId !== '') this.state.sessionId = sessionId;
    switch (event.type) {
      case 'system':
        if (event.subtype === 'init') {
          this.state.model = str(event.model) ?? this.state.model;
          this.#login = str(event.apiKeySource) ?? this.#login;
        } else if (event.subtype === 'api_retry') {
          this.#readRetry(event);
        } else if (event.subtype === 'permission_denied') {
          // Said as it happens; the result lists every denial again.
          this.state.needsInput = { message: needsApproval([`${str(event.tool_name) ?? 'a tool'}: ${brief(str(event.message) ?? 'needs approval', 200)}`]) };
        }
        return;
      case 'assistant':
        this.#readAssistant(event, now);
        return;
      case 'stream_event':
        this.#readStreamEvent(field(event, 'event'));
        return;
      case 'result':
        this.#readResult(event, now);
        return;
      default:
        return;
    }
  }

  #readAssistant(event: Record<string, unknown>, now: number): void {
    const message = field(event, 'message');
    const id = str(message.id);
    if (message.model === '<synthetic>' || event.is_api_error_message === true) {
      // The CLI's own message about an API error it gave up on (the result repeats it).
      this.#readApiError(num(event.api_error_status), str(event.error), textOf(message), now);
      return;
    }
    const model = str(message.model);
    if (model !== null) this.state.model = model;
    if (id !== null && isRecord(message.usage)) {
      // A later line of the same message repeats the start's snapshot: it never lowers an
      // output count a stream event's message_delta already raised.
      const usage = tokensOf(message.usage);
      usage.outputTokens = Math.max(usage.outputTokens, this.#messages.get(id)?.outputTokens ?? 0);
      this.#messages.set(id, usage);
      this.#recount();
    }
  }

  #readStreamEvent(inner: Record<string, unknown>): void {
    if (inner.type === 'message_start') {
      const message = field(inner, 'message');
      this.#streaming = str(message.id);
      if (this.#streaming !== null && isRecord(message.usage)) this.#messages.set(this.#streaming, tokensOf(message.usage));
    } else if (inner.type === 'message_delta' && this.#streaming !== null && isRecord(inner.usage)) {
      const known = this.#messages.get(this.#streaming) ?? { ...NO_USAGE };
      const delta = inner.usage;
      this.#messages.set(this.#streaming, {
        inputTokens: num(delta.input_tokens) ?? known.inputTokens,
        outputTokens: num(delta.output_tokens) ?? known.outputTokens,
        cacheReadTokens: num(delta.cache_read_input_tokens) ?? known.cacheReadTokens,
        cacheWriteTokens: num(delta.cache_creation_input_tokens) ?? known.cacheWriteTokens,
        costUsd: null,
      });
    }
    this.#recount();
  }

  #readRetry(event: Record<string, unknown>): void {
    const status = num(event.error_status);
    const delay = num(event.retry_delay_ms);
    const attempt = num(event.attempt);
    const max = num(event.max_retries);
    const what = str(event.error) ?? 'error';
    const retrying = `retry ${attempt ?? '?'}/${max ?? '?'} in ${delay === null ? '?' : `${Math.round(delay)} ms`}`;
    if (status === 429 || what === 'rate_limit') {
      this.state.rateLimit = { retryAfterMs: delay, resetAt: null, message: `Claude Code: rate limited (429); ${retrying}` };
    } else if (status === 401 || status === 403 || what === 'authentication_failed') {
      this.state.auth = { message: this.#authMessage(status, `the API answered ${status ?? what}; Claude Code is retrying (${retrying})`) };
    } else {
      this.state.apiError = { status, message: `Claude Code: API error ${status ?? what}; ${retrying}` };
    }
  }

  #readResult(event: Record<string, unknown>, now: number): void {
    const isError = event.is_error === true;
    const errors = Array.isArray(event.errors) ? event.errors.filter((e): e is string => typeof e === 'string') : [];
    const text = str(event.result) ?? (errors.length > 0 ? errors.join('; ') : null);
    this.state.result = { isError, subtype: str(event.subtype), text, at: now };
    // This run's tokens; the cost of this run when the CLI breaks it down, else the session's.
    const tokens = isRecord(event.usage) ? tokensOf(event.usage) : this.#inFlight();
    const runCost = costOf(event.model_usage_since_last_result);
    const sessionCost = num(event.total_cost_usd);
    const settled = addUsage(this.#settled, tokens);
    settled.costUsd = runCost !== null ? (this.#settled.costUsd ?? 0) + runCost : sessionCost ?? this.#settled.costUsd;
    this.#settled = settled;
    this.#messages.clear();
    this.#streaming = null;
    this.#recount();
    const status = num(event.api_error_status);
    if (isError && (status !== null || text !== null)) this.#readApiError(status, null, text ?? '', now);
    const denials = Array.isArray(event.permission_denials) ? event.permission_denials.filter(isRecord) : [];
    if (denials.length > 0) {
      const named = denials.map((d) => {
        const input = field(d, 'tool_input');
        const detail = str(input.command) ?? str(input.file_path) ?? null;
        return `${str(d.tool_name) ?? 'a tool'}${detail === null ? '' : ` (${brief(detail, 80)})`}`;
      });
      this.state.needsInput = { message: needsApproval(named) };
    }
  }

  /** An API error the CLI stopped on: a rate limit, a refused login, or another error. */
  #readApiError(status: number | null, kind: string | null, text: string, now: number): void {
    // A `billing_error` is a subscription's limit when its text says so ("spend limit reached ·
    // resets Aug 8"), else an account problem no wait fixes (a credit balance too low).
    if (status === 429 || kind === 'rate_limit' || mentionsRateLimit(text)) {
      const reset = parseResetTime(text, now);
      const previous = this.state.rateLimit;
      this.state.rateLimit = {
        retryAfterMs: reset.retryAfterMs ?? previous?.retryAfterMs ?? null,
        resetAt: reset.resetAt ?? previous?.resetAt ?? null,
        message: `Claude Code: ${brief(text || 'rate limited (429)')}`,
      };
    } else if (status === 401 || status === 403 || kind === 'authentication_failed' || mentionsAuthFailure(text)) {
      this.state.auth = { message: this.#authMessage(status, text) };
    } else if (status !== null || kind !== null) {
      this.state.apiError = { status, message: `Claude Code: ${brief(text || `API error ${status ?? kind}`)}` };
    }
  }

  /** Says which login is missing or refused, and how to fix it. */
  #authMessage(status: number | null, text: string): string {
    const said = brief(text, 200);
    const code = status === null ? '' : ` (${status})`;
    if (this.#login === null || this.#login === 'none' || /not logged in/i.test(text)) {
      return `Claude Code is not logged in: ${said}. Log in with \`claude /login\` (as the user coord runs agents as) or set ANTHROPIC_API_KEY`;
    }
    if (this.#login === 'ANTHROPIC_API_KEY') {
      return `ANTHROPIC_API_KEY was refused${code}: ${said}. Set a valid key, or unset it and log in with \`claude /login\``;
    }
    return `Claude Code's login (${this.#login}) was refused${code}: ${said}. Log in again with \`claude /login\` or set ANTHROPIC_API_KEY`;
  }

  /** Plain lines (stderr on a PTY, banners): only a refused login or a limit is worth reading there. */
  #readText(line: string, now: number): void {
    if (mentionsAuthFailure(line)) this.state.auth ??= { message: this.#authMessage(null, line) };
    else if (mentionsRateLimit(line)) {
      const reset = parseResetTime(line, now);
      this.state.rateLimit ??= { ...reset, message: `Claude Code: ${brief(line)}` };
    }
  }

  #inFlight(): AgentUsage {
    let total: AgentUsage = { ...NO_USAGE };
    for (const usage of this.#messages.values()) total = addUsage(total, usage);
    return total;
  }

  #recount(): void {
    const total = addUsage(this.#settled, this.#inFlight());
    total.costUsd = this.#settled.costUsd;
    this.state.usage = total;
  }
}

/** A parser for Claude Code's stream-json output. */
export function createClaudeStreamJsonParser(): AgentOutputParser {
  return new ClaudeStreamJsonParser();
}
