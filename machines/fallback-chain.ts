/**
 * A task's fallback chain, as a pure machine definition: after an attempt fails for a reason
 * that warrants it, the task is retried on the same live worker, then resumed there (at most
 * `maxResumes` times, with the previous attempt's context), then respawned on a fresh worker
 * process with a summary of the earlier attempts, and finally dead-lettered. Every hop is
 * recorded in `context.hops` with its failure code and why it was taken, so the chain is
 * auditable. The effects are named actions that `src/` supplies with `.provide()`.
 *
 * Time comes in on events (`attempt.failed.at`, `sessionIdleMs`); no clock is read.
 */
import { assertEvent, setup, type SnapshotFrom } from 'xstate';
import type { CoordErrorCode } from '../src/errors.js';

/** Where a task's chain stands, as a closed union: the machine's state names. */
export type FallbackStage = 'original' | 'live' | 'resume' | 'respawn' | 'exhausted' | 'recovered';

/** Why a hop was taken. */
export type FallbackHopReason = 'retry' | 'live-trigger' | 'resume' | 'stale-session' | 'crash-loop' | 'respawn' | 'exhausted';

/** One hop of the chain: the failure that caused it and where it led. */
export interface FallbackHop {
  from: FallbackStage;
  to: FallbackStage;
  /**
   * The failed attempt's error code, e.g. `TASK_TIMEOUT` or `WORKER_HUNG`; for a delivery's
   * first hop, why it went that way (`SESSION_ENDED`, `SESSION_STALE`), or `OK` into a live session.
   */
  code: CoordErrorCode | 'OK';
  /** Epoch ms of the failure. */
  at: number;
  reason: FallbackHopReason;
  /** The caller's classification of the failure, when it gave one. */
  classification: string | null;
}

/** What a fallback chain is created with. */
export interface FallbackChainInput {
  taskId: string;
  /** Resumes on the same worker before respawning (default 2). */
  maxResumes?: number;
  /** A session idle longer than this is not resumed (default 12 h). */
  staleAfterMs?: number;
}

/** The defaults: 2 resumes; a session idle for more than 12 h is stale. */
export const DEFAULT_FALLBACK_CONFIG = { maxResumes: 2, staleAfterMs: 12 * 3_600_000 } as const;

/** The fallback chain's context. */
export interface FallbackChainContext {
  taskId: string;
  maxResumes: number;
  staleAfterMs: number;
  /** Resumes started so far (1 during the first resume). */
  resumeCount: number;
  hops: FallbackHop[];
}

/** A failed attempt as reported to the chain. */
export interface AttemptFailure {
  code: CoordErrorCode;
  at: number;
  /** How long the task's agent session has been idle. */
  sessionIdleMs: number;
  /** The worker the attempt ran on is restarting in a loop. */
  workerCrashLooping: boolean;
  classification?: string;
}

/**
 * A message delivery starting (src/supervisor/mailbox/): where the task's session stands. The
 * chain's first hop is then the delivery's first route.
 */
export interface DeliveryStart {
  /** The session runs interactively in its PTY: the message can be typed in. */
  live: boolean;
  at: number;
  /** How long the session has been idle (since its last turn ended; 0 while it runs). */
  sessionIdleMs: number;
  /** The task's runs keep crashing: its session is not worth resuming. */
  workerCrashLooping: boolean;
  /** The session can be resumed at all (its agent can, and it reported a session id); default true. */
  resumable?: boolean;
}

/** Events the fallback chain accepts. */
export type FallbackChainEvent = ({ type: 'attempt.failed' } & AttemptFailure) | ({ type: 'delivery.start' } & DeliveryStart) | { type: 'attempt.succeeded' };

/** The params each named action receives as its second argument. */
export interface FallbackChainActionParams {
  /** Run the task again on the same live worker. */
  retryLive: { taskId: string };
  /** Resume the task's session on the same worker (`resumeCount`: 1 for the first resume). */
  resumeOnWorker: { taskId: string; resumeCount: number };
  /** Run the task on a fresh worker process; `hops` is the summary to write for `COORD_SUMMARY_FILE`. */
  respawnElsewhere: { taskId: string; hops: FallbackHop[] };
  /** The chain is exhausted: dead-letter the task with its hops. */
  deadLetter: { taskId: string; hops: FallbackHop[] };
}

const chainSetup = setup({
  types: {
    input: {} as FallbackChainInput,
    context: {} as FallbackChainContext,
    events: {} as FallbackChainEvent,
  },
  actions: {
    retryLive: (_args: unknown, _params: FallbackChainActionParams['retryLive']): void => {},
    resumeOnWorker: (_args: unknown, _params: FallbackChainActionParams['resumeOnWorker']): void => {},
    respawnElsewhere: (_args: unknown, _params: FallbackChainActionParams['respawnElsewhere']): void => {},
    deadLetter: (_args: unknown, _params: FallbackChainActionParams['deadLetter']): void => {},
  },
  guards: {
    isCrashLooping: ({ event }) => (event.type === 'attempt.failed' || event.type === 'delivery.start') && event.workerCrashLooping,
    /** Idle for longer than `staleAfterMs`: resuming would bring back a stale context. */
    isSessionStale: ({ context, event }) => (event.type === 'attempt.failed' || event.type === 'delivery.start') && event.sessionIdleMs > context.staleAfterMs,
    isSessionLive: ({ event }) => event.type === 'delivery.start' && event.live,
    hasResumeBudget: ({ context }) => context.resumeCount < context.maxResumes,
    canResumeSession: ({ context, event }) => context.resumeCount < context.maxResumes && !(event.type === 'delivery.start' && event.resumable === false),
  },
});

/** The code a delivery's first hop records: why it took that route. */
const START_CODES: Record<FallbackHopReason, CoordErrorCode | 'OK'> = {
  'live-trigger': 'OK', resume: 'SESSION_ENDED', 'stale-session': 'SESSION_STALE', 'crash-loop': 'WORKER_CRASHED',
  retry: 'OK', respawn: 'SESSION_ENDED', exhausted: 'DELIVERY_EXHAUSTED',
};

/** Appends the hop this failure (or delivery start) causes, and counts a resume when it leads to one. */
const hop = (from: FallbackStage, to: FallbackStage, reason: FallbackHopReason) =>
  chainSetup.assign(({ context, event }) => {
    assertEvent(event, ['attempt.failed', 'delivery.start']);
    const code = event.type === 'attempt.failed' ? event.code : START_CODES[reason];
    const classification = event.type === 'attempt.failed' ? event.classification ?? null : 'delivery';
    const record: FallbackHop = { from, to, code, at: event.at, reason, classification };
    return { hops: [...context.hops, record], resumeCount: to === 'resume' ? context.resumeCount + 1 : context.resumeCount };
  });

/** The two shortcuts, checked first on a failure in `live` or `resume`: crash loop, then staleness. */
const shortcuts = (from: FallbackStage) => [
  { guard: 'isCrashLooping' as const, target: 'respawn' as const, actions: hop(from, 'respawn', 'crash-loop') },
  { guard: 'isSessionStale' as const, target: 'respawn' as const, actions: hop(from, 'respawn', 'stale-session') },
];

const toRecovered = { 'attempt.succeeded': 'recovered' as const };

/**
 * One task's fallback chain. Create it when an attempt fails for a reason that warrants a
 * fallback (the caller decides which), then send that failure: the chain starts in
 * `original`, the attempt that has just failed. On each `attempt.failed`, the first matching
 * row wins:
 *
 * | from         | condition                      | to              | reason          |
 * |--------------|--------------------------------|-----------------|-----------------|
 * | original     | workerCrashLooping             | respawn         | `crash-loop`    |
 * | original     | otherwise                      | live            | `retry`         |
 * | live, resume | workerCrashLooping             | respawn         | `crash-loop`    |
 * | live, resume | sessionIdleMs > staleAfterMs   | respawn         | `stale-session` |
 * | live, resume | resumeCount < maxResumes       | resume (n + 1)  | `resume`        |
 * | live, resume | otherwise                      | respawn         | `respawn`       |
 * | respawn      | always                         | exhausted       | `exhausted`     |
 *
 * A message delivery starts with `delivery.start` instead (from `original` only): crash loop →
 * respawn (`crash-loop`); a live session → live (`live-trigger`: type it in); a session idle
 * over `staleAfterMs` → respawn (`stale-session`); one that cannot be resumed → respawn
 * (`respawn`); otherwise → resume (`resume`). Its
 * failures then hop as above: live → resume(1) → resume(2) → respawn → exhausted.
 *
 * So by default: original → live → resume(1) → resume(2) → respawn → exhausted. The original
 * attempt's staleness is not checked: a live retry does not restore the session's context.
 * `attempt.succeeded` in any non-final stage → `recovered`. Both `recovered` and `exhausted`
 * are final; events after them are ignored.
 *
 * Entry effects: `live` → `retryLive`, each `resume` → `resumeOnWorker` (re-entered for the
 * next resume), `respawn` → `respawnElsewhere`, `exhausted` → `deadLetter`.
 *
 * @example
 * const chain = createActor(fallbackChainMachine.provide({ actions }), { input: { taskId: 'build' } }).start();
 * chain.send({ type: 'attempt.failed', code: 'TASK_TIMEOUT', at: Date.now(), sessionIdleMs: 0, workerCrashLooping: false });
 * // → live: retryLive({ taskId: 'build' })
 */
export const fallbackChainMachine = chainSetup.createMachine({
  id: 'fallbackChain',
  initial: 'original',
  context: ({ input }) => ({
    taskId: input.taskId,
    maxResumes: Math.max(0, input.maxResumes ?? DEFAULT_FALLBACK_CONFIG.maxResumes),
    staleAfterMs: input.staleAfterMs ?? DEFAULT_FALLBACK_CONFIG.staleAfterMs,
    resumeCount: 0,
    hops: [],
  }),
  states: {
    original: {
      on: {
        ...toRecovered,
        'attempt.failed': [
          { guard: 'isCrashLooping', target: 'respawn', actions: hop('original', 'respawn', 'crash-loop') },
          { target: 'live', actions: hop('original', 'live', 'retry') },
        ],
        'delivery.start': [
          { guard: 'isCrashLooping', target: 'respawn', actions: hop('original', 'respawn', 'crash-loop') },
          { guard: 'isSessionLive', target: 'live', actions: hop('original', 'live', 'live-trigger') },
          { guard: 'isSessionStale', target: 'respawn', actions: hop('original', 'respawn', 'stale-session') },
          { guard: 'canResumeSession', target: 'resume', actions: hop('original', 'resume', 'resume') },
          { target: 'respawn', actions: hop('original', 'respawn', 'respawn') },
        ],
      },
    },
    live: {
      entry: { type: 'retryLive', params: ({ context }) => ({ taskId: context.taskId }) },
      on: {
        ...toRecovered,
        'attempt.failed': [
          ...shortcuts('live'),
          { guard: 'hasResumeBudget', target: 'resume', actions: hop('live', 'resume', 'resume') },
          { target: 'respawn', actions: hop('live', 'respawn', 'respawn') },
        ],
      },
    },
    resume: {
      entry: { type: 'resumeOnWorker', params: ({ context }) => ({ taskId: context.taskId, resumeCount: context.resumeCount }) },
      on: {
        ...toRecovered,
        'attempt.failed': [
          ...shortcuts('resume'),
          // Re-entered so that `resumeOnWorker` runs again for the next resume.
          { guard: 'hasResumeBudget', target: 'resume', reenter: true, actions: hop('resume', 'resume', 'resume') },
          { target: 'respawn', actions: hop('resume', 'respawn', 'respawn') },
        ],
      },
    },
    respawn: {
      entry: { type: 'respawnElsewhere', params: ({ context }) => ({ taskId: context.taskId, hops: context.hops }) },
      on: {
        ...toRecovered,
        'attempt.failed': { target: 'exhausted', actions: hop('respawn', 'exhausted', 'exhausted') },
      },
    },
    exhausted: {
      type: 'final',
      entry: { type: 'deadLetter', params: ({ context }) => ({ taskId: context.taskId, hops: context.hops }) },
    },
    recovered: { type: 'final' },
  },
});

/** A fallback chain snapshot. */
export type FallbackChainSnapshot = SnapshotFrom<typeof fallbackChainMachine>;

/** The chain snapshot's stage, e.g. `resume`. */
export function fallbackStageOf(snapshot: FallbackChainSnapshot): FallbackStage {
  return snapshot.value;
}
