/**
 * Two supervisors (two hosts, two clones of one origin) on one PostgreSQL store: a message to
 * an agent task is delivered once. Both reconcile and both poll for due deliveries; the one
 * open delivery per task and the claim under a lease mean one hand-over, one resumed run.
 */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createSupervisor, type Supervisor, type SupervisorEvents } from '../../src/index.js';
import { FAKE_AGENT } from '../helpers/cli.js';
import { makeSharedOrigin, type SharedOrigin } from '../helpers/git-repo.js';

const BASE_URL = process.env.COORD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let shared: SharedOrigin | undefined;
let schema: string | undefined;
const supervisors: Supervisor[] = [];

afterEach(async () => {
  for (const s of supervisors.splice(0)) if (!['stopped', 'failed'].includes(s.status().state)) await s.stop();
  shared?.cleanup();
  shared = undefined;
  if (schema !== undefined) {
    const client = new pg.Client({ connectionString: BASE_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
    schema = undefined;
  }
});

describe('mailbox: two supervisors on one PostgreSQL store', () => {
  it('deliver a message once', async () => {
    shared = makeSharedOrigin(2);
    schema = `coord_mailbox_${process.pid}_${Date.now().toString(36)}`;
    const store = `${BASE_URL}?schema=${schema}`;
    const agents = {
      notes: {
        command: process.execPath, parser: 'claude-stream-json' as const, resumeArgs: ['--resume', '{session}'],
        args: [FAKE_AGENT, '--stream-json', '--session-id', '22222222-2222-4333-8444-555555555555', '--append', 'notes.txt', '--text', '{prompt}', '--commit', 'a turn', '-p', '{prompt}'],
      },
    };
    for (const [i, clone] of shared.clones.entries()) {
      const s = createSupervisor({
        repo: clone, workers: 1, store, nodeId: `host-${i}`, heartbeatMs: 200, leaseMs: 3_000, agents, mailbox: { pollMs: 100 },
        stateDir: `${clone}-state`, worktreeRoot: `${clone}-worktrees`,
      });
      supervisors.push(s);
      await s.start();
    }
    const [a, b] = supervisors as [Supervisor, Supervisor];
    const tries: Array<SupervisorEvents['coord:trigger'] & { host: string }> = [];
    for (const [i, s] of supervisors.entries()) s.events.on('coord:trigger', (e) => tries.push({ ...e, host: `host-${i}` }));
    const done = (s: Supervisor, id: string) => new Promise<void>((resolve) => {
      const on = (e: { taskId: string }) => {
        if (e.taskId === id) resolve();
      };
      s.events.on('coord:complete', on);
    });

    const firstDone = Promise.race([done(a, 'work'), done(b, 'work')]);
    await a.submit([{ id: 'work', agent: 'notes', prompt: 'first' }]);
    await firstDone;

    const delivered = Promise.race(supervisors.map((s) => new Promise<SupervisorEvents['coord:delivered']>((resolve) => s.events.on('coord:delivered', resolve))));
    await b.message('work', 'second');
    expect(await delivered).toMatchObject({ taskId: 'work', uptoSeq: 1, route: 'resume' });

    const task = (await a.summary({ ids: ['work'] })).tasks[0];
    const story = JSON.stringify({ history: task?.history.map((h) => [h.node, h.worker, h.code, h.message, h.released ? h.releaseReason : null]), deliveries: task?.mailbox?.deliveries.map((d) => d.attempts.map((t) => [t.node, t.outcome, t.code, t.detail])) });
    expect(task?.attempts, story).toBe(2);
    expect(task).toMatchObject({ status: 'complete', attempts: 2 });
    expect(task?.mailbox?.deliveries).toHaveLength(1);
    expect(task?.mailbox?.deliveries[0]?.attempts.map((t) => t.outcome)).toEqual(['handed-over', 'delivered']);
    expect(tries.filter((t) => t.outcome === 'handed-over')).toHaveLength(1);
  }, 120_000);
});
