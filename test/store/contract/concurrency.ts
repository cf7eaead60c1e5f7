/**
 * Races: several store instances (connections), then several processes, claiming the same
 * 200 ready tasks at once. Each task must be claimed exactly once and completed exactly once.
 */
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../../src/store/open-store.js';
import type { TaskStore } from '../../../src/store/task-store.js';
import { T0, completion, spec, withStore, type ContractOptions, type MakeStore } from './helpers.js';

const TASKS = 200;
const TSX_IMPORT = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const CLAIMER = fileURLToPath(new URL('../../fixtures/store-claimer.ts', import.meta.url));

async function claimAll(store: TaskStore, nodeId: string): Promise<string[]> {
  const claimed: string[] = [];
  for (;;) {
    const claim = await store.claim({ nodeId, workerId: `${nodeId}-w`, capabilities: [], leaseMs: 60_000, now: T0 });
    if (claim === null) return claimed;
    claimed.push(claim.task.spec.id);
    expect(await store.complete(claim.task.spec.id, claim.lease, completion(T0))).toBe(true);
  }
}

async function expectEachClaimedOnce(store: TaskStore, claimed: string[][]): Promise<void> {
  const all = claimed.flat();
  expect(all).toHaveLength(TASKS);
  expect(new Set(all).size).toBe(TASKS);
  const records = await store.list();
  expect(records.every((r) => r.status === 'complete' && r.attempts.length === 1)).toBe(true);
  expect((await store.events(0, 10_000)).filter((e) => e.type === 'task.completed')).toHaveLength(TASKS);
}

/** Forks a claimer for `url`; resolves with the ids it claimed once `go` resolves. */
function forkClaimer(url: string, nodeId: string, go: Promise<void>): { ready: Promise<void>; done: Promise<string[]> } {
  const child = fork(CLAIMER, [url, nodeId], { execArgv: ['--import', TSX_IMPORT], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let signalReady = (): void => {};
  const ready = new Promise<void>((resolve) => {
    signalReady = resolve;
  });
  const done = new Promise<string[]>((resolve, reject) => {
    child.on('message', (message: unknown) => {
      if (message === 'ready') {
        signalReady();
        void go.then(() => child.send('go'));
      } else if (typeof message === 'object' && message !== null && 'claimed' in message) {
        resolve((message as { claimed: string[] }).claimed);
      } else reject(new Error(`claimer ${nodeId} failed: ${JSON.stringify(message)}`));
    });
    child.on('exit', (code) => reject(new Error(`claimer ${nodeId} exited with ${code} before reporting`)));
  });
  return { ready, done };
}

/** Registers the race tests. */
export function concurrencyContract(make: MakeStore, opts: ContractOptions): void {
  if (!opts.shared && !opts.processes) return; // one instance's concurrent claims: see claim.ts
  describe('concurrent claimers', () => {
    if (opts.shared) {
      it(`several instances racing for ${TASKS} ready tasks each claim a task exactly once`, () =>
        withStore(make, async (store, fixture) => {
          await store.submit(Array.from({ length: TASKS }, (_, i) => spec(`t${i}`)), T0);
          const others = await Promise.all([1, 2, 3].map(() => openStore(fixture.url)));
          try {
            const claimed = await Promise.all([store, ...others].map((s, i) => claimAll(s, `n${i}`)));
            expect(claimed.filter((ids) => ids.length > 0).length).toBeGreaterThan(1);
            await expectEachClaimedOnce(store, claimed);
          } finally {
            await Promise.all(others.map((s) => s.close()));
          }
        }));
    }

    if (opts.processes) {
      it(`several processes racing for ${TASKS} ready tasks each claim a task exactly once`, () =>
        withStore(make, async (store, fixture) => {
          await store.submit(Array.from({ length: TASKS }, (_, i) => spec(`t${i}`)), T0);
          let start = (): void => {};
          const go = new Promise<void>((resolve) => {
            start = resolve;
          });
          const claimers = [1, 2, 3, 4].map((i) => forkClaimer(fixture.url, `p${i}`, go));
          await Promise.all(claimers.map((c) => c.ready));
          start();
          const claimed = await Promise.all(claimers.map((c) => c.done));
          await expectEachClaimedOnce(store, claimed);
        }), 120_000);
    }
  });
}
