/**
 * What a delivery gives the agent, pure: a resumed session gets its unread messages as the new
 * prompt (one message as it is, several numbered); a fresh session gets a thread summary —
 * the task's original prompt, every message so far, and the last result — so it can carry on
 * where the lost session was.
 */
import type { MailMessage } from './types.js';

const from = (m: MailMessage): string => (m.source === 'operator' ? 'the operator' : m.source === 'merge-queue' ? 'the merge queue' : m.source === 'conflict' ? 'conflict prediction' : 'coord');

/** The prompt of a resumed session: the messages it has not read. */
export function resumePrompt(unread: readonly MailMessage[]): string {
  if (unread.length === 1) return unread[0]?.text ?? '';
  return unread.map((m, i) => `Message ${i + 1} of ${unread.length} (from ${from(m)}):\n${m.text}`).join('\n\n');
}

/** The prompt of a fresh session that replaces a lost one. */
export function threadSummaryPrompt(task: { id: string; prompt: string; lastResult: string | null }, thread: readonly MailMessage[]): string {
  return [
    `You are continuing task "${task.id}" in its git worktree; an earlier session on it can no longer be resumed. The thread so far:`,
    '',
    '## The original task',
    task.prompt,
    '',
    '## Messages since',
    ...thread.map((m) => `### Message ${m.seq} (from ${from(m)})\n${m.text}`),
    '',
    '## The last result',
    task.lastResult ?? '(none)',
    '',
    `Act on the latest message (${thread.at(-1)?.seq ?? 0}); the earlier ones are context.`,
  ].join('\n');
}
