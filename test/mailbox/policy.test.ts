import { describe, expect, it } from 'vitest';
import { onBusy, DEFAULT_COLLISION_POLICY } from '../../src/mailbox/collision.js';
import { judgeTurn, normalizeFinding } from '../../src/mailbox/loop-guard.js';
import { resumePrompt, threadSummaryPrompt } from '../../src/mailbox/prompts.js';
import { NO_LOOP, type MailMessage } from '../../src/mailbox/types.js';
import { newChain, stepChain } from '../../src/supervisor/mailbox/chain.js';

const msg = (seq: number, text: string): MailMessage => ({ taskId: 't', seq, at: seq, source: 'operator', text, meta: null });

describe('collision policy', () => {
  it('defers a busy session every recheck until the bound, then gives up', () => {
    const first = onBusy(null, 1_000, DEFAULT_COLLISION_POLICY);
    expect(first).toEqual({ action: 'defer', since: 1_000, nextAt: 6_000 });
    expect(onBusy(1_000, 58_000, DEFAULT_COLLISION_POLICY)).toEqual({ action: 'defer', since: 1_000, nextAt: 61_000 });
    expect(onBusy(1_000, 61_000, DEFAULT_COLLISION_POLICY)).toEqual({ action: 'give-up', deferredMs: 60_000 });
  });
});

describe('loop safeguards', () => {
  it('blocks after three turns with the same finding and no new commit', () => {
    let state = judgeTurn(NO_LOOP, { commit: 'a'.repeat(40), finding: 'Fixed it.' }).state;
    const verdicts = [1, 2, 3].map(() => {
      const verdict = judgeTurn(state, { commit: 'a'.repeat(40), finding: 'The tests still fail  in  login.ts (3 failures).' });
      state = verdict.state;
      return verdict.block?.code ?? null;
    });
    expect(verdicts).toEqual([null, null, 'LOOP_REPEATED_FINDING']);
  });

  it('a new commit is progress: repeated findings and no-progress counts start over', () => {
    let state = NO_LOOP;
    for (let i = 0; i < 5; i += 1) state = judgeTurn(state, { commit: 'c'.repeat(40), finding: 'same' }, { maxNoProgressTurns: 20, maxRepeatedFindings: 99 }).state;
    expect(state.noProgress).toBe(4);
    state = judgeTurn(state, { commit: 'd'.repeat(40), finding: 'same' }).state;
    expect(state).toMatchObject({ noProgress: 0, repeated: 0, lastCommit: 'd'.repeat(40) });
  });

  it('blocks after maxNoProgressTurns turns without a commit, whatever they say', () => {
    let state = NO_LOOP;
    const codes: Array<string | null> = [];
    for (let i = 0; i < 4; i += 1) {
      const verdict = judgeTurn(state, { commit: null, finding: `answer ${'x'.repeat(i)}` }, { maxNoProgressTurns: 4, maxRepeatedFindings: 3 });
      state = verdict.state;
      codes.push(verdict.block?.code ?? null);
    }
    expect(codes).toEqual([null, null, null, 'LOOP_NO_PROGRESS']);
  });

  it('normalises findings: case, spacing, numbers, ids and escapes do not tell them apart', () => {
    expect(normalizeFinding('\u001b[1mDone\u001b[0m: 3 tests pass at abc1234def.')).toBe(normalizeFinding('done:  7 tests pass at 9999999aaa'));
    expect(normalizeFinding('   ')).toBeNull();
  });
});

describe('delivery prompts', () => {
  it('a resume gets one message as it is, several numbered', () => {
    expect(resumePrompt([msg(1, 'add a test')])).toBe('add a test');
    expect(resumePrompt([msg(1, 'a'), msg(2, 'b')])).toBe('Message 1 of 2 (from the operator):\na\n\nMessage 2 of 2 (from the operator):\nb');
  });

  it('a fresh session gets the original prompt, every message and the last result', () => {
    const prompt = threadSummaryPrompt({ id: 'fix', prompt: 'fix the login bug', lastResult: 'fixed, tests pass' }, [msg(1, 'also the logout'), msg(2, 'and docs')]);
    expect(prompt).toContain('fix the login bug');
    expect(prompt).toContain('### Message 1 (from the operator)\nalso the logout');
    expect(prompt).toContain('### Message 2 (from the operator)\nand docs');
    expect(prompt).toContain('fixed, tests pass');
  });
});

describe('delivery chain', () => {
  const start = { type: 'delivery.start' as const, at: 1, sessionIdleMs: 0, workerCrashLooping: false };
  const failed = (code: 'AGENT_FAILED' | 'SESSION_BUSY') => ({ type: 'attempt.failed' as const, code, at: 2, sessionIdleMs: 0, workerCrashLooping: false });
  const config = { maxResumes: 2, staleAfterMs: 12 * 3_600_000 };

  it('live → resume → resume → respawn → exhausted, each hop with its reason code', () => {
    let chain = stepChain(newChain('t', config).persisted, { ...start, live: true });
    const stages = [chain.stage];
    for (const code of ['SESSION_BUSY', 'AGENT_FAILED', 'AGENT_FAILED', 'AGENT_FAILED'] as const) {
      chain = stepChain(chain.persisted, failed(code));
      stages.push(chain.stage);
    }
    expect(stages).toEqual(['live', 'resume', 'resume', 'respawn', 'exhausted']);
    expect(chain.hops.map((h) => `${h.reason}:${h.code}`)).toEqual(['live-trigger:OK', 'resume:SESSION_BUSY', 'resume:AGENT_FAILED', 'respawn:AGENT_FAILED', 'exhausted:AGENT_FAILED']);
  });

  it('a finished session is resumed; a stale one, a crash-looping one or one that cannot resume skips to respawn', () => {
    const fresh = newChain('t', config).persisted;
    expect(stepChain(fresh, { ...start, live: false }).hops[0]).toMatchObject({ to: 'resume', reason: 'resume', code: 'SESSION_ENDED' });
    expect(stepChain(fresh, { ...start, live: false, sessionIdleMs: 13 * 3_600_000 }).hops[0]).toMatchObject({ to: 'respawn', reason: 'stale-session', code: 'SESSION_STALE' });
    expect(stepChain(fresh, { ...start, live: false, workerCrashLooping: true }).hops[0]).toMatchObject({ to: 'respawn', reason: 'crash-loop' });
    expect(stepChain(fresh, { ...start, live: false, resumable: false }).hops[0]).toMatchObject({ to: 'respawn', reason: 'respawn' });
  });

  it('survives being persisted as JSON between steps', () => {
    const chain = stepChain(JSON.parse(JSON.stringify(newChain('t', config).persisted)), { ...start, live: false });
    const next = stepChain(JSON.parse(JSON.stringify(chain.persisted)), failed('AGENT_FAILED'));
    expect([chain.stage, next.stage, next.resumeCount]).toEqual(['resume', 'resume', 2]);
  });
});
