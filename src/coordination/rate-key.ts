/**
 * The rate-limit key a task's attempts start under: its own `rateKey`, else, for an agent
 * task, its profile's provider (`anthropic` for claude, `openai` for codex, …); a command or
 * module task without one has none.
 */
import { resolveProfile, type AgentProfileConfig } from '../agents/profiles.js';
import type { TaskSpec } from '../tasks/spec.js';

export function rateKeyOf(spec: Pick<TaskSpec, 'rateKey' | 'agent'>, agents: Readonly<Record<string, AgentProfileConfig>>): string | null {
  if (spec.rateKey !== undefined) return spec.rateKey;
  return spec.agent === undefined ? null : resolveProfile(spec.agent, agents).provider;
}
