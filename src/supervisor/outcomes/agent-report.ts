/**
 * What the store keeps of an agent attempt: its session (the profile and the CLI's session
 * id) and its usage, priced from the profile's table when the CLI reported tokens but no cost.
 */
import { priceOf, resolveProfile, type AgentProfileConfig } from '../../agents/profiles.js';
import type { AgentSession, AgentUsage } from '../../agents/types.js';
import type { AgentReport } from '../../protocol/messages.js';
import type { TaskSpec } from '../../tasks/spec.js';

export function storedAgentReport(spec: TaskSpec | undefined, report: AgentReport | undefined,
  agents: Readonly<Record<string, AgentProfileConfig>>): { session: AgentSession | null; usage: AgentUsage | null } {
  if (report === undefined || spec?.agent === undefined) return { session: null, usage: null };
  const session = report.sessionId === null ? null : { agent: spec.agent, id: report.sessionId };
  let costUsd = report.usage.costUsd;
  if (costUsd === null) {
    try {
      costUsd = priceOf(resolveProfile(spec.agent, agents), report.model ?? spec.model ?? null, report.usage);
    } catch {
      costUsd = null; // the profile went from the config since the task was submitted
    }
  }
  return { session, usage: { ...report.usage, costUsd } };
}
