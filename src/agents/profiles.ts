/**
 * Agent profiles: how to run each coding-agent CLI for a task — its argv (the prompt as one
 * argument, never through a shell), which structured output to ask for and how to read it,
 * and which provider's rate limits apply. Built in: claude, codex, gemini, aider. The config
 * file's `agents:` section overrides a built-in's command, extra args, env, provider and
 * prices, or defines a new profile from an argv template with `{prompt}` and a parser.
 */
import { CoordError } from '../errors.js';
import type { AgentParserKind } from './types.js';

/** What a model costs, in USD per million tokens. */
export interface ModelPrice {
  inputPerMTok: number;
  outputPerMTok: number;
  cacheReadPerMTok?: number | undefined;
  cacheWritePerMTok?: number | undefined;
}

/** A profile as the config file writes it (see src/config/sections-schema.ts). */
export interface AgentProfileConfig {
  command: string;
  args?: string[] | undefined;
  env?: Record<string, string> | undefined;
  provider?: string | undefined;
  prices?: Record<string, ModelPrice> | undefined;
  /** Only for a profile that is not built in: how to read its output (default `text`). */
  parser?: AgentParserKind | undefined;
  /** Only for a profile that is not built in: the argv that resumes a session, with `{session}`. */
  resumeArgs?: string[] | undefined;
}

/** A profile, resolved: everything a task's attempt needs. */
export interface AgentProfile {
  name: string;
  command: string;
  /** Profile args, placed before the task's own (for a template profile: the template, with `{prompt}`). */
  args: string[];
  env: Record<string, string>;
  /** The rate-limit key (`anthropic`, `openai`, …). */
  provider: string;
  prices: Record<string, ModelPrice>;
  parser: AgentParserKind;
  /** How the built-in CLI is driven; `template` for a profile defined in the config. */
  style: BuiltInStyle | 'template';
  /** A template profile's resume argv (`{session}`); null when it cannot resume. */
  resumeArgs: string[] | null;
}

/** True when coord can resume a session of this profile (every built-in but aider; a template with `resumeArgs`). */
export function supportsResume(profile: Pick<AgentProfile, 'style' | 'resumeArgs'>): boolean {
  return profile.style === 'template' ? profile.resumeArgs !== null : profile.style !== 'aider';
}

type BuiltInStyle = 'claude' | 'codex' | 'gemini' | 'aider';

const BUILT_IN: Record<BuiltInStyle, Omit<AgentProfile, 'name' | 'style' | 'args' | 'env' | 'prices' | 'resumeArgs'>> = {
  claude: { command: 'claude', provider: 'anthropic', parser: 'claude-stream-json' },
  codex: { command: 'codex', provider: 'openai', parser: 'codex-json' },
  gemini: { command: 'gemini', provider: 'google', parser: 'gemini-stream-json' },
  aider: { command: 'aider', provider: 'aider', parser: 'text' },
};

export const BUILT_IN_AGENTS = Object.keys(BUILT_IN) as BuiltInStyle[];

const isBuiltIn = (name: string): name is BuiltInStyle => Object.hasOwn(BUILT_IN, name);

/** The profile `name`, from the built-ins and the config's `agents:`; `TASK_INVALID` when there is none. */
export function resolveProfile(name: string, configured: Readonly<Record<string, AgentProfileConfig>> = {}): AgentProfile {
  const own = configured[name];
  if (isBuiltIn(name)) {
    const base = BUILT_IN[name];
    return {
      ...base, name, style: name,
      command: own?.command ?? base.command, args: own?.args ?? [], env: own?.env ?? {},
      provider: own?.provider ?? base.provider, prices: own?.prices ?? {}, resumeArgs: null,
    };
  }
  if (!own) {
    throw new CoordError('TASK_INVALID', `unknown agent "${name}": use one of ${BUILT_IN_AGENTS.join(', ')}, or define it under agents: in the config file`, { details: { agent: name } });
  }
  const args = own.args ?? [];
  if (!args.some((arg) => arg.includes('{prompt}'))) {
    throw new CoordError('CONFIG_INVALID', `agents.${name}.args must hold {prompt} where the prompt goes (e.g. [run, --message, "{prompt}"])`, { details: { agent: name } });
  }
  return {
    name, style: 'template', command: own.command, args, env: own.env ?? {}, provider: own.provider ?? name, prices: own.prices ?? {},
    parser: own.parser ?? 'text', resumeArgs: own.resumeArgs ?? null,
  };
}

/** What a task gives its agent. */
export interface AgentRequest {
  prompt: string;
  model?: string | undefined;
  /** The task's extra argv, after the profile's. */
  args?: readonly string[] | undefined;
  /** Resume this session with `prompt` as its next turn (the mailbox). */
  resume?: string | null | undefined;
  /** Run the agent's interactive mode in the PTY (messages can be typed in), not its one-shot mode. */
  interactive?: boolean | undefined;
}

/** Profiles whose CLI coord can drive interactively (a prompt to start, messages typed in after). */
export function supportsInteractive(profile: Pick<AgentProfile, 'style'>): boolean {
  return profile.style !== 'aider';
}

/**
 * The argv of one run (program first). The prompt is always one argument of its own, after
 * `--` where the CLI takes it as a positional, so a prompt starting with `-` is not a flag.
 */
export function buildArgv(profile: AgentProfile, request: AgentRequest): string[] {
  const { prompt, model } = request;
  const extra = [...profile.args, ...(request.args ?? [])];
  const resume = request.resume ?? null;
  const modelArgs = model ? ['--model', model] : [];
  if (request.interactive === true) return interactiveArgv(profile, { ...request, extra, modelArgs });
  switch (profile.style) {
    case 'claude':
      return [profile.command, '-p', '--output-format', 'stream-json', '--verbose', ...modelArgs, ...(resume ? ['--resume', resume] : []), ...extra, '--', prompt];
    case 'codex':
      if (resume) return [profile.command, 'exec', '--json', ...modelArgs, ...extra, 'resume', '--', resume, prompt];
      return [profile.command, 'exec', '--json', ...modelArgs, ...extra, '--', prompt];
    case 'gemini':
      return [profile.command, '--output-format', 'stream-json', ...modelArgs, ...(resume ? ['--resume', resume] : []), ...extra, `--prompt=${prompt}`];
    case 'aider':
      return [profile.command, '--yes-always', '--no-pretty', '--no-stream', ...(model ? ['--model', model] : []), ...extra, `--message=${prompt}`];
    case 'template':
      return templateArgv(profile, request);
  }
}

/** A template profile's argv: its args with the prompt, the resume argv with the session when resuming, the task's args. */
function templateArgv(profile: AgentProfile, request: AgentRequest): string[] {
  const resume = request.resume && profile.resumeArgs ? profile.resumeArgs.map((arg) => arg.replaceAll('{session}', request.resume ?? '')) : [];
  return [profile.command, ...profile.args.map((arg) => arg.replaceAll('{prompt}', request.prompt)), ...resume, ...(request.args ?? [])];
}

/** The argv of an interactive session: the CLI's own interface in the PTY, started with `prompt`. */
function interactiveArgv(profile: AgentProfile, request: AgentRequest & { extra: string[]; modelArgs: string[] }): string[] {
  const { prompt, extra, modelArgs } = request;
  const resume = request.resume ?? null;
  switch (profile.style) {
    case 'claude':
      return [profile.command, ...modelArgs, ...(resume ? ['--resume', resume] : []), ...extra, '--', prompt];
    case 'codex':
      return resume ? [profile.command, 'resume', ...modelArgs, ...extra, '--', resume, prompt] : [profile.command, ...modelArgs, ...extra, '--', prompt];
    case 'gemini':
      return [profile.command, ...modelArgs, ...(resume ? ['--resume', resume] : []), ...extra, `--prompt-interactive=${prompt}`];
    case 'aider':
      throw new CoordError('TASK_INVALID', 'aider has no interactive mode coord can drive: leave "interactive" out', { details: { agent: profile.name } });
    case 'template':
      return templateArgv(profile, request);
  }
}

/** USD for `usage` at the profile's price of `model`, or null when the profile has no price for it. Pure. */
export function priceOf(profile: Pick<AgentProfile, 'prices'>, model: string | null, usage: { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWriteTokens: number }): number | null {
  const price = model === null ? undefined : profile.prices[model];
  if (!price) return null;
  const perToken = (perMTok: number | undefined, fallback: number): number => (perMTok ?? fallback) / 1_000_000;
  return usage.inputTokens * perToken(price.inputPerMTok, 0)
    + usage.outputTokens * perToken(price.outputPerMTok, 0)
    + usage.cacheReadTokens * perToken(price.cacheReadPerMTok, price.inputPerMTok)
    + usage.cacheWriteTokens * perToken(price.cacheWritePerMTok, price.inputPerMTok);
}
