/**
 * The programmatic API with real forked workers: events, status, summary, protocol
 * refusals, and stop.
 */
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSupervisor, isCoordError, type Supervisor } from '../../src/index.js';
import { entryFor } from '../../src/pool/worker-entry.js';
import { fakeAgent, ROOT } from '../helpers/cli.js';
import { isAlive, makeRepo, type TempRepo } from '../helpers/git-repo.js';

let repo: TempRepo;
let supervisor: Supervisor | undefined;
afterEach(async () => {
  if (supervisor && !['stopped', 'failed'].includes(supervisor.status().state)) await supervisor.stop();
  supervisor = undefined;
  repo?.cleanup();
});

function create(extra: Partial<Parameters<typeof createSupervisor>[0]> = {}): Supervisor {
  supervisor = createSupervisor({
    repo: repo.repo,
    workers: 2,
    stateDir: repo.stateDir,
    worktreeRoot: repo.worktreeRoot,
    heartbeatMs: 200,
    ...extra,
  });
  return supervisor;
}

describe('createSupervisor', () => {
  it('runs submitted tasks, emitting typed events, and reports status and summary', async () => {
    repo = makeRepo();
    const s = create();
    const seen: string[] = [];
    s.events.on('coord:assigned', (e) => seen.push(`assigned:${e.taskId}`));
    s.events.on('coord:complete', (e) => seen.push(`complete:${e.taskId}`));
    s.events.on('coord:dead', (e) => seen.push(`dead:${e.taskId}:${e.error.code}`));
    await s.start();
    expect(s.status().state).toBe('running');
    expect(s.actor.getSnapshot().value).toBe('running');
    const added = await s.submit([
      { id: 'one', run: fakeAgent('--write', 'one.txt', '--text', '1') },
      { id: 'two', deps: ['one'], run: ['sh', '-c', 'test "$(cat one.txt)" = 1 && test "$COORD_TASK_ID" = two && test -n "$COORD_WORKTREE"'] },
      { id: 'bad', run: ['sh', '-c', 'exit 7'], maxAttempts: 2, backoff: { initialMs: 10, maxMs: 10, factor: 1 } },
    ]);
    expect(added).toEqual(['one', 'two', 'bad']);
    await s.settled();
    expect(s.status().counts).toMatchObject({ complete: 2, dead: 1 });
    expect(seen).toContain('complete:two');
    expect(seen.indexOf('assigned:two')).toBeGreaterThan(seen.indexOf('complete:one'));
    expect(seen).toContain('dead:bad:TASK_EXIT_NONZERO');
    expect(seen.filter((e) => e === 'assigned:bad')).toHaveLength(2); // retried once, then dead
    await s.drain();
    expect(s.status().state).toBe('stopped');
    const summary = (await s.summary());
    expect(summary.coordinator.state).toBe('stopped');
    expect(summary.workers.map((w) => w.id)).toEqual(['w1', 'w2']);
    const one = summary.tasks.find((t) => t.id === 'one');
    expect(one?.logFile && readFileSync(one.logFile, 'utf8')).toContain('one');
  });

  it('refuses bad submissions whole, with codes', async () => {
    repo = makeRepo();
    const s = create({ workers: 1 });
    await s.start();
    const codeOf = async (tasks: Parameters<Supervisor['submit']>[0]): Promise<string> =>
      s.submit(tasks).then(() => 'accepted', (error: unknown) => (isCoordError(error) ? error.code : 'not a coord error'));
    expect(await codeOf([{ id: '../escape', run: ['true'] }])).toBe('TASK_UNSAFE_ID');
    expect(await codeOf([{ id: 'x', run: ['true'] }, { id: 'x', run: ['true'] }])).toBe('TASK_DUPLICATE_ID');
    expect(await codeOf([{ id: 'y', run: ['true'], deps: ['nope'] }])).toBe('TASK_UNKNOWN_DEP');
    expect(await codeOf([{ id: 'z', run: ['true'], needs: ['gpu'] }])).toBe('TASK_UNSATISFIABLE');
    repo.git('branch', 'coord/taken');
    expect(await codeOf([{ id: 'taken', run: ['true'] }])).toBe('BRANCH_EXISTS');
    expect(s.status().counts.ready ?? 0).toBe(0);
    expect((await s.summary()).tasks).toEqual([]);
  });

  it('counts and refuses garbage IPC from a worker without crashing anyone', async () => {
    repo = makeRepo();
    const garbageLog = path.join(repo.dir, 'garbage.log');
    process.env.GARBAGE_LOG = garbageLog;
    const s = create({ workers: 1, workerEntry: entryFor(path.join(ROOT, 'test', 'fixtures', 'worker-garbage.ts')) });
    const refused: Array<string | null> = [];
    s.events.on('coord:protocol-refused', (e) => refused.push(e.refusedType));
    await s.start();
    await s.submit([{ id: 'after-garbage', run: ['true'] }]);
    await s.settled();
    delete process.env.GARBAGE_LOG;
    expect(s.status().protocolRefusals).toBe(5);
    expect(refused).toEqual([null, null, 'coord:no-such-message', 'coord:request', 'coord:complete']);
    expect((await s.summary()).tasks[0]?.status).toBe('complete');
    // Only the malformed request expected an answer.
    const replies = readFileSync(garbageLog, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { refusedType: string });
    expect(replies.map((r) => r.refusedType)).toEqual(['coord:request']);
    await s.drain();
  });

  it('stop() during a run returns running tasks to ready and leaves no process behind', async () => {
    repo = makeRepo();
    const pidDir = path.join(repo.dir);
    const s = create();
    await s.start();
    const started = new Promise<void>((resolve) => {
      let n = 0;
      s.events.on('coord:started', () => ++n === 2 && resolve());
    });
    await s.submit([
      { id: 'long1', run: ['sh', '-c', `echo $$ > ${pidDir}/long1.pid; sleep 60 & wait`] },
      { id: 'long2', run: ['sh', '-c', `echo $$ > ${pidDir}/long2.pid; sleep 60 & wait`] },
    ]);
    await started;
    const workerPids = s.status().workers.map((w) => w.pid ?? 0);
    const taskPids = [await pidIn(path.join(pidDir, 'long1.pid')), await pidIn(path.join(pidDir, 'long2.pid'))];
    await s.stop();
    expect(s.status().state).toBe('stopped');
    expect((await s.summary()).tasks.map((t) => t.status)).toEqual(['ready', 'ready']);
    for (const pid of [...workerPids, ...taskPids]) expect(isAlive(pid), `pid ${pid}`).toBe(false);
  });
});

/** The pid a task wrote to `file`, once it is there: the shell creates the file before it writes to it. */
async function pidIn(file: string): Promise<number> {
  const read = (): string => (existsSync(file) ? readFileSync(file, 'utf8').trim() : '');
  await expect.poll(read, { timeout: 5_000, interval: 25, message: `a pid in ${path.basename(file)}` }).toMatch(/^\d+$/);
  return Number(read());
}

describe('dead-letter queue', () => {
  it('redrive puts a dead task and its blocked dependents back in play', async () => {
    repo = makeRepo();
    const flag = path.join(repo.dir, 'fixed');
    const s = create({ workers: 1 });
    await s.start();
    await s.submit([
      { id: 'needs-fix', run: ['sh', '-c', `test -f ${flag}`], maxAttempts: 1 },
      { id: 'after', deps: ['needs-fix'], run: ['true'] },
    ]);
    await s.settled();
    expect((await s.summary()).tasks.map((t) => t.status)).toEqual(['dead', 'blocked']);
    writeFileSync(flag, 'now it passes');
    expect(await s.redrive('needs-fix')).toEqual(expect.arrayContaining(['needs-fix', 'after']));
    await s.settled();
    const tasks = (await s.summary()).tasks;
    expect(tasks.map((t) => t.status)).toEqual(['complete', 'complete']);
    // The history keeps the dead attempt.
    expect(tasks[0]?.history.map((a) => a.code)).toEqual(['TASK_EXIT_NONZERO', null]);
    await expect(s.redrive('after')).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
    await s.drain();
  });
});
