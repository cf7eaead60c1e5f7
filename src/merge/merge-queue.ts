/**
 * The merge queue: finished task branches go onto the target branch only through a tested
 * candidate. Entries are taken in batches (dependencies first, then enqueue order); a batch
 * is built in the object database on the target's tip, tested in the queue's own worktree,
 * and the target is advanced to it by compare-and-swap (or a fast-forward of the checkout
 * that has it). A failing batch is bisected, so a bad branch never holds back the good ones
 * and is never on the target. The user's checkout is never touched, except that fast-forward.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { identityEnv } from '../git/identity.js';
import type { Logger } from '../log/logger.js';
import { afterTest, nextGroup, startBisection, undecided, withoutEntries, type Bisection } from './bisect.js';
import { buildCandidate, type Candidate } from './candidate.js';
import { prepareWorktree } from './merge-worktree.js';
import { readyBatch } from './readiness.js';
import { advanceTarget, readTip } from './target.js';
import { logFileName, nextLogNumber } from './test-log.js';
import { startTest, type TestOutcome, type TestRun } from './test-run.js';
import type { MergeEntry, MergeSettings, MergeState } from './types.js';

export type { MergeEntry, MergeErrorCode, MergeSettings, MergeState, MergeStatus } from './types.js';

export interface MergeQueueDeps {
  /** The user's repository (main worktree). */
  repoRoot: string;
  /** A folder the queue owns: `<dir>/worktree` (dedicated merge worktree), `<dir>/logs/*.log`. */
  dir: string;
  settings: MergeSettings;
  logger: Logger;
  now(): number;
  /** Every state change of an entry (pending included), awaited in order. */
  onChange(taskId: string, state: MergeState): void | Promise<void>;
}

/** One queued entry: what was enqueued, when (its order), and where it stands. */
interface Slot extends MergeEntry {
  readonly seq: number;
  state: MergeState;
}

/** How a test step ended: its outcome, no test configured, or the queue closing under it. */
type TestStep = TestOutcome | 'untested' | 'stopped';

export class MergeQueue {
  readonly #deps: MergeQueueDeps;
  readonly #log: Logger;
  readonly #slots = new Map<string, Slot>();
  #seq = 0;
  #loop: Promise<void> | null = null;
  #paused = false;
  #closed = false;
  #test: TestRun | null = null;
  #notifications: Promise<void> = Promise.resolve();
  #waiters: Array<() => void> = [];
  #logNumber: number | null = null;

  constructor(deps: MergeQueueDeps) {
    this.#deps = deps;
    this.#log = deps.logger.child({ component: 'merge-queue', target: deps.settings.target });
  }

  /** Queues a task's branch; the same task id again (its task ran again) replaces the earlier entry, back to pending. */
  enqueue(entry: MergeEntry): void {
    if (this.#closed) {
      this.#log.warn({ taskId: entry.taskId }, 'the merge queue is closed; entry not queued');
      return;
    }
    const slot: Slot = { taskId: entry.taskId, branch: entry.branch, commit: entry.commit, deps: [...entry.deps], seq: (this.#seq += 1), state: this.#pending() };
    this.#slots.delete(entry.taskId);
    this.#slots.set(entry.taskId, slot);
    void this.#notify(slot);
    this.#paused = false;
    this.#kick();
  }

  /** Nothing queued that can go ahead (paused on a dirty target counts as nothing) and nothing running. */
  idle(): boolean {
    return this.#loop === null && (this.#paused || this.#closed || this.#nextBatch(1).length === 0);
  }

  /** Settles when the queue is {@link idle} and every state change has been reported. */
  whenIdle(): Promise<void> {
    if (this.idle()) return this.#notifications;
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  state(taskId: string): MergeState | undefined {
    return this.#slots.get(taskId)?.state;
  }

  /** Tries the pending entries again, e.g. after the user cleaned a dirty target checkout. */
  retry(): void {
    if (this.#closed) return;
    this.#paused = false;
    this.#kick();
  }

  /** Stops after the current step; a running test is killed (SIGTERM, then SIGKILL). Nothing of the target is removed. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#test?.cancel();
    if (this.#loop !== null) await this.#loop;
    await this.#notifications;
    this.#wake();
  }

  #kick(): void {
    if (this.#loop !== null || this.#closed) return;
    // Starting on the next turn lets entries enqueued together (in one turn) batch together.
    this.#loop = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#drain())
      .then(() => this.#notifications)
      .then(() => {
        this.#loop = null;
        if (this.idle()) this.#wake();
        else this.#kick();
      });
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }

  #nextBatch(limit: number): Slot[] {
    const views = [...this.#slots.values()].map((slot) => ({ taskId: slot.taskId, deps: slot.deps, seq: slot.seq, status: slot.state.status, slot }));
    return readyBatch(views, limit).map((view) => view.slot);
  }

  /** Batches until nothing is ready, the queue pauses or it closes. Never rejects. */
  async #drain(): Promise<void> {
    while (!this.#closed && !this.#paused) {
      const batch = this.#nextBatch(this.#deps.settings.batch);
      if (batch.length === 0) return;
      try {
        await this.#runBatch(batch);
      } catch (error) {
        this.#paused = true;
        this.#log.error({ err: error, tasks: batch.map((slot) => slot.taskId) }, 'the merge queue stopped on an error; the entries stay pending until retry() or the next enqueue');
      }
    }
  }

  /** One batch, bisected until each of its entries is decided (or the queue pauses or closes). */
  async #runBatch(batch: readonly Slot[]): Promise<void> {
    const { repoRoot, settings } = this.#deps;
    const env = await identityEnv(repoRoot);
    this.#log.info({ tasks: batch.map((slot) => slot.taskId) }, 'merge batch');
    let plan: Bisection<Slot> = startBisection(batch);
    for (let group = nextGroup(plan); group !== null && !this.#closed; group = nextGroup(plan)) {
      const base = await readTip(repoRoot, settings.target);
      const candidate = await buildCandidate({ repoRoot, target: settings.target, base, entries: group, mode: settings.mode, env });
      for (const conflict of candidate.conflicts) {
        await this.#set(conflict.entry, { ...this.#decided('conflict', null), files: conflict.files, error: { code: 'MERGE_CONFLICT', message: conflict.message } });
      }
      const left = new Set(candidate.conflicts.map((conflict) => conflict.entry));
      plan = withoutEntries(plan, (slot) => left.has(slot));
      if (candidate.applied.length === 0 || this.#closed) continue;
      if (candidate.commit === base) {
        // Everything in the group is on the target already: nothing to test or write.
        plan = afterTest(plan, true).plan;
        for (const slot of candidate.applied) await this.#set(slot, this.#decided('merged', null, base));
        continue;
      }
      const test = await this.#runTest(candidate);
      if (test === 'stopped' || (test !== 'untested' && test.cancelled)) return;
      const logFile = test === 'untested' ? null : test.logFile;
      if (test !== 'untested' && !test.passed) {
        const step = afterTest(plan, false);
        plan = step.plan;
        if (step.decision.kind === 'fail') await this.#testFailed(step.decision.entry, test, candidate);
        else if (step.decision.kind === 'split') this.#log.info({ first: step.decision.halves[0].map((s) => s.taskId), second: step.decision.halves[1].map((s) => s.taskId), logFile }, 'merge test failed; bisecting');
        continue;
      }
      if (this.#closed) return;
      const advance = await advanceTarget({ repoRoot, target: settings.target, from: base, to: candidate.commit, env, reason: `coord merge queue: ${candidate.applied.map((s) => s.taskId).join(', ')}` });
      if (advance.kind === 'moved') {
        this.#log.info({ expected: base, found: advance.tip }, 'the merge target moved while the candidate was tested; rebuilding on the new tip');
        continue;
      }
      if (advance.kind === 'dirty') {
        for (const slot of undecided(plan)) {
          const own = candidate.applied.includes(slot) ? logFile : slot.state.logFile;
          await this.#set(slot, { ...this.#pending(), logFile: own, error: { code: 'MERGE_TARGET_DIRTY', message: advance.message } });
        }
        this.#paused = true;
        this.#log.warn({ worktree: advance.worktree }, advance.message);
        return;
      }
      plan = afterTest(plan, true).plan;
      this.#log.info({ tasks: candidate.applied.map((s) => s.taskId), tip: advance.tip }, 'merged');
      for (const slot of candidate.applied) await this.#set(slot, this.#decided('merged', logFile, advance.tip));
    }
  }

  /** Checks the candidate out in the merge worktree and runs the test there. */
  async #runTest(candidate: Candidate<Slot>): Promise<TestStep> {
    const { repoRoot, dir, settings } = this.#deps;
    if (settings.test.length === 0) return 'untested';
    const worktree = path.join(path.resolve(dir), 'worktree');
    await prepareWorktree(repoRoot, worktree, candidate.commit, this.#log);
    if (this.#closed) return 'stopped';
    const tasks = candidate.applied.map((slot) => slot.taskId);
    const logFile = this.#nextLogFile(tasks[0] ?? 'candidate');
    const header = `# coord merge queue: ${JSON.stringify(settings.test)} on ${candidate.commit} (${settings.target} at ${candidate.base} + ${tasks.join(', ')})\n`;
    const run = startTest({ argv: settings.test, cwd: worktree, logFile, header });
    this.#test = run;
    try {
      const outcome = await run.done;
      this.#log.info({ tasks, passed: outcome.passed, exitCode: outcome.exitCode, signal: outcome.signal, logFile }, 'merge test ran');
      return outcome;
    } finally {
      this.#test = null;
    }
  }

  async #testFailed(slot: Slot, test: TestOutcome, candidate: Candidate<Slot>): Promise<void> {
    const how = test.signal !== null ? `was killed by ${test.signal}` : `exited with ${test.exitCode}`;
    const message = `the merge test ${how} on ${slot.branch} merged onto ${this.#deps.settings.target} (${candidate.commit}); see ${test.logFile}`;
    await this.#set(slot, { ...this.#decided('test-failed', test.logFile), error: { code: 'MERGE_TEST_FAILED', message }, outputTail: test.outputTail });
  }

  #nextLogFile(taskId: string): string {
    const logs = path.join(path.resolve(this.#deps.dir), 'logs');
    if (this.#logNumber === null) {
      mkdirSync(logs, { recursive: true });
      this.#logNumber = nextLogNumber(readdirSync(logs));
    }
    const file = path.join(logs, logFileName(this.#logNumber, taskId));
    this.#logNumber += 1;
    return file;
  }

  #pending(): MergeState {
    return { status: 'pending', commit: null, logFile: null, at: this.#deps.now() };
  }

  #decided(status: 'merged' | 'conflict' | 'test-failed', logFile: string | null, commit: string | null = null): MergeState {
    return { status, commit, logFile, at: this.#deps.now() };
  }

  /** Records `state` for `slot` and reports it, unless the slot was replaced by a newer enqueue of its task. */
  #set(slot: Slot, state: MergeState): Promise<void> {
    if (this.#slots.get(slot.taskId) !== slot) return this.#notifications;
    slot.state = state;
    return this.#notify(slot);
  }

  /** Reports the slot's current state after every report before it. */
  #notify(slot: Slot): Promise<void> {
    const { taskId, state } = slot;
    this.#notifications = this.#notifications.then(async () => {
      try {
        await this.#deps.onChange(taskId, state);
      } catch (error) {
        this.#log.warn({ err: error, taskId }, 'merge queue onChange failed');
      }
    });
    return this.#notifications;
  }
}
