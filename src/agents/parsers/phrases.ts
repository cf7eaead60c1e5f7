/**
 * The well-known words of rate limits, refused logins and unanswered prompts, for text with
 * no structure to say so (Aider's output, a CLI's error message, a result text). Only strong
 * phrases: a task's own output may well mention "rate limit" in passing, so a bare mention is
 * not enough, and each pattern names the CLI (or library) that prints it.
 */

const RATE_LIMIT: readonly RegExp[] = [
  /\b429\b.{0,40}(too many requests|rate.?limit)/i, // "429 Too Many Requests", "Request rejected (429) · …rate limit"
  /(too many requests|rate.?limit).{0,40}\b429\b/i,
  /\brejected \(429\)|\bAPI Error: 429\b/i, // Claude Code "API Error: Request rejected (429) · …"
  /\bexceeded your [\w-]+ rate limit\b/i, // Anthropic "…has exceeded your per-minute rate limit"
  /\brate_limit_error\b/, // Anthropic's error type
  /\bRateLimitError\b/, // litellm (Aider), the OpenAI and Anthropic SDKs
  /rate.?limit(ed)? (exceeded|reached)/i,
  /has rate limited you/i, // Aider
  /\b(usage|spend|session|weekly|daily|monthly) limit (reached|has been reached)\b/i, // Claude Code, Codex
  /\bhit your ([\w-]+ )?limit\b/i, // Claude Code "You've hit your session limit · resets 5pm", Codex "You've hit your usage limit"
  /\b\d+-hour limit reached\b/i, // Claude Code's subscription windows
  /\busage_limit_reached\b/, // Codex's error type
  /\bquota (exceeded|limit)\b|\bexceeded your current quota\b|\breached your daily .{0,40}quota\b/i,
  /\bexhausted your (capacity|quota)\b/i, // Gemini
  /\bRESOURCE_EXHAUSTED\b/, // Google's gRPC status
];

const AUTH: readonly RegExp[] = [
  /\binvalid (x-)?api[ -]?key\b/i, // Anthropic "invalid x-api-key", Claude Code "Invalid API key"
  /\bincorrect api key\b/i, // OpenAI
  /\bapi key not valid\b/i, // Google
  /\bplease run \/login\b|\bnot logged in\b/i, // Claude Code
  /\b(please )?(log ?in|sign in) again\b|\bplease (log ?in|sign in)\b/i,
  /\bauthentication_error\b|\bAuthenticationError\b|\bauthentication[ _]failed\b|\bFailed to authenticate\b/i,
  /\b401 Unauthorized\b|\bstatus 401\b|\(401\)/i,
  /\b403 Forbidden\b|\bpermission_error\b/i,
  /\bUNAUTHENTICATED\b|\bPERMISSION_DENIED\b/, // Google's gRPC statuses
  /\bplease set an auth method\b/i, // Gemini
  /\bmissing environment variable:?\s*`?[A-Z0-9_]*(API_KEY|TOKEN)\b/i, // Codex with a provider's env_key unset
  /\b(OPENAI|ANTHROPIC|GEMINI|GOOGLE)_API_KEY\b.{0,40}\b(not set|missing|required|invalid)\b/i,
  /\boauth token (has )?expired\b|\btoken (has )?expired\b.{0,40}\blog ?in\b|\bsession expired\b.{0,40}\/login\b/i,
  /\baccess token could not be refreshed\b/i, // Codex's ChatGPT login
];

/** A prompt that waits for an answer at the end of its line (an answered one has the answer after it). */
const NEEDS_INPUT: readonly RegExp[] = [
  /\(Y\)es\/\(N\)o.*\[(Yes|No)\]:\s*$/, // Aider's confirmations
  /\[(y\/n|Y\/n|y\/N)\]\s*[:?]?\s*$/, // the shell convention
  /\((y\/n|yes\/no)\)\s*[:?]?\s*$/i,
  /\bpress enter to continue\b/i,
  /\bwaiting for (your |user )?input\b/i,
  /^\s*Do you want to (proceed|make this edit|create|allow)\b.*\?\s*$/i, // Claude Code's interactive permission dialog
  /^\s*[?❯]\s.+[?›]\s*$/, // inquirer-style prompts
];

function first(patterns: readonly RegExp[], text: string): boolean {
  return patterns.some((pattern) => pattern.test(text));
}

/** True when `text` reports a rate or usage limit. */
export function mentionsRateLimit(text: string): boolean {
  return first(RATE_LIMIT, text);
}

/** True when `text` reports a missing or refused login. */
export function mentionsAuthFailure(text: string): boolean {
  return first(AUTH, text);
}

/** True when `line` is a prompt waiting for an answer nobody in a non-interactive run will give. */
export function isInputPrompt(line: string): boolean {
  return first(NEEDS_INPUT, line);
}
