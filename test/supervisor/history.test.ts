/** The summary's history: counted attempts and released starts interleaved in the order they ran. */
import { describe, expect, it } from 'vitest';
import type { CoordErrorCode } from '../../src/errors.js';
import type { AttemptRecord, ReleasedStart } from '../../src/lifecycle/task-record.js';
import { taskHistory } from '../../src/supervisor/history.js';

const attempt = (n: number, code: CoordErrorCode | null): AttemptRecord => ({
  attempt: n, worker: `w${n}`, lease: `A${n}`, assignedAt: 't', startedAt: 't', finishedAt: 't', exitCode: code === null ? 0 : 1, code, message: null,
  session: null, usage: null,
});
const released = (n: number, reason: string, crash = false): ReleasedStart => ({
  attempt: n, worker: 'w', lease: `R${n}${reason}`, assignedAt: 't', startedAt: null, releasedAt: 'r', reason, crash, session: null, usage: null,
});

describe('taskHistory', () => {
  it('puts each released start after the attempts counted before it and before the attempt that reused its number', () => {
    const history = taskHistory({
      attempts: [attempt(1, 'TASK_EXIT_NONZERO'), attempt(2, null)],
      released: [released(1, 'worker unavailable'), released(2, 'drain deadline reached'), released(2, 'supervisor restarted', true), released(3, 'stop requested')],
    });
    expect(history.map((h) => [h.attempt, h.released, h.releaseReason, h.crashRelease])).toEqual([
      [1, true, 'worker unavailable', false],
      [1, false, null, false],
      [2, true, 'drain deadline reached', false],
      [2, true, 'supervisor restarted', true],
      [2, false, null, false],
      [3, true, 'stop requested', false],
    ]);
    expect(history[0]).toMatchObject({ finishedAt: 'r', releasedAt: 'r', code: null, exitCode: null });
  });

  it('is the attempts alone when nothing was released', () => {
    expect(taskHistory({ attempts: [attempt(1, null)], released: [] })).toEqual([{ ...attempt(1, null), released: false, releaseReason: null, releasedAt: null, crashRelease: false }]);
  });
});
