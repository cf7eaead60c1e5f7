/**
 * What the store contract's groups share: the fixture shape, fixed time, a seeded random,
 * spec and failure builders, and normalising records (leases are random) for comparison.
 */
import { expect } from 'vitest';
import { isCoordError, type CoordErrorCode } from '../../../src/errors.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import type { StoreOptions } from '../../../src/store/store-options.js';
import type { AgentSession, AgentUsage } from '../../../src/agents/types.js';
import type { Claim, Deferral, Failure, TaskRecord, TaskStore } from '../../../src/store/task-store.js';
import { TaskSpecSchema, type TaskSpec, type TaskSpecInput } from '../../../src/tasks/spec.js';

/** A store under test, the URL that opens more instances on the same backing, and its cleanup. */
export interface StoreFixture {
  store: TaskStore;
  url: string;
  cleanup: () => Promise<void>;
}

/** Opens a fresh, empty store (each call a new backing) with `options`. */
export type MakeStore = (options?: StoreOptions) => Promise<StoreFixture>;

/** What a backend can do beyond the common contract. */
export interface ContractOptions {
  /** Another instance opened on `url` sees the same queue (SQLite file, PostgreSQL schema). */
  shared: boolean;
  /** Closing and reopening keeps everything. */
  durable: boolean;
  /** Child processes can open `url` and race for claims. */
  processes: boolean;
  /** Only one instance at a time leads the reaper (PostgreSQL's advisory lock). */
  exclusiveReaper: boolean;
  /** Writes `version` into the closed store's meta table. */
  setSchemaVersion?: (url: string, version: number) => Promise<void>;
  /**
   * Rewrites the closed store as schema version `version` left it (each later migration
   * undone: for 1, no `releases` table and no `tasks.crash_releases`; for 2, no agent session
   * and usage columns, no `tasks.rate_limit_waits`, no `tasks_waiting` index; `version` in
   * `meta`), checking its tables and indexes match what that version's migrations create.
   */
  downgradeTo?: (url: string, version: number) => Promise<void>;
  /** The closed store's `meta` schema version. */
  schemaVersion?: (url: string) => Promise<number>;
  /** A digest of everything stored (the store closed), to prove a refused open wrote nothing. */
  fingerprint?: (url: string) => Promise<string>;
  /** Resolves once `store.onChange` listeners are in place (PostgreSQL connects LISTEN asynchronously). */
  listening?: (store: TaskStore) => Promise<void>;
}

/** Fixed epoch for every test: stores never read the clock. */
export const T0 = Date.parse('2025-01-01T00:00:00Z');

/** Seeded PRNG (mulberry32): the same jitter for every backend. */
export function seeded(seed = 7): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A parsed run task. */
export function spec(id: string, extra: Partial<TaskSpecInput> = {}): TaskSpec {
  return TaskSpecSchema.parse({ id, run: ['true'], ...extra });
}

/** A failure reported at `now`. */
export function failure(now: number, extra: { retryable?: boolean; retryAfterMs?: number | null; code?: CoordErrorCode } = {}): Failure {
  return {
    code: extra.code ?? 'TASK_EXIT_NONZERO',
    message: 'exit 1',
    exitCode: 1,
    retryable: extra.retryable ?? true,
    retryAfterMs: extra.retryAfterMs ?? null,
    now,
  };
}

/** A successful completion at `now`. */
export function completion(now: number, result: unknown = null) {
  return { exitCode: 0, result, commit: 'c0ffee', now };
}

/** An agent session, as a worker reports it. */
export function session(id = 'sess-1', agent = 'claude'): AgentSession {
  return { agent, id };
}

/** An agent's usage, as a worker reports it. */
export function usage(inputTokens = 1200, costUsd: number | null = 0.0125): AgentUsage {
  return { inputTokens, outputTokens: 340, cacheReadTokens: 5000, cacheWriteTokens: 0, costUsd };
}

/** A rate-limit deferral at `now` until `until`, with the run's session and usage unless given. */
export function deferral(now: number, until: number, extra: Partial<Deferral> = {}): Deferral {
  return {
    now, until, reason: 'rate limited: claude', error: { code: 'RATE_LIMITED', message: '429: usage limit reached' },
    session: session(), usage: usage(), ...extra,
  };
}

/** Claims for node `n1` worker `w1` (or as given); fails the test when nothing is claimable. */
export async function mustClaim(
  store: TaskStore,
  now: number,
  extra: { nodeId?: string; workerId?: string; capabilities?: string[]; leaseMs?: number; taskId?: string } = {},
): Promise<Claim> {
  const claim = await store.claim({
    nodeId: extra.nodeId ?? 'n1',
    workerId: extra.workerId ?? 'w1',
    capabilities: extra.capabilities ?? [],
    leaseMs: extra.leaseMs ?? 10_000,
    now,
    ...(extra.taskId === undefined ? {} : { taskId: extra.taskId }),
  });
  if (claim === null) throw new Error('expected a claimable task');
  return claim;
}

/** Claims and completes the best task; returns its id. */
export async function runOne(store: TaskStore, now: number): Promise<string> {
  const claim = await mustClaim(store, now);
  expect(await store.complete(claim.task.spec.id, claim.lease, completion(now))).toBe(true);
  return claim.task.spec.id;
}

/** The code of the CoordError `run` rejects with. */
export async function codeOf(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (error) {
    if (isCoordError(error)) return error.code;
    throw error;
  }
  return 'no error';
}

/** The status of `id`. */
export async function statusOf(store: TaskStore, id: string): Promise<string | undefined> {
  return (await store.get(id))?.status;
}

/**
 * Records with lease tokens replaced by `L1, L2, …` in order of first appearance, and
 * properties holding `undefined` dropped (JSON round trip), so two stores run through the
 * same steps compare equal.
 */
export function normalize(records: readonly TaskRecord[]): unknown {
  const names = new Map<string, string>();
  const name = (lease: string | null): string | null => {
    if (lease === null) return null;
    if (!names.has(lease)) names.set(lease, `L${names.size + 1}`);
    return names.get(lease) ?? null;
  };
  return JSON.parse(
    JSON.stringify(
      records.map((r) => ({
        ...r,
        lease: name(r.lease),
        attempts: r.attempts.map((a) => ({ ...a, lease: name(a.lease) })),
        released: r.released.map((a) => ({ ...a, lease: name(a.lease) })),
      })),
    ),
  ) as unknown;
}

/** Runs `body` on a fresh store and always cleans up. */
export async function withStore<T>(make: MakeStore, body: (store: TaskStore, fixture: StoreFixture) => Promise<T>, options?: StoreOptions): Promise<T> {
  const fixture = await make(options);
  try {
    return await body(fixture.store, fixture);
  } finally {
    await fixture.cleanup();
  }
}

/** Plays `body` on a fresh store and on the in-memory reference; both must end with the same records and events. */
export async function sameAsReference(make: MakeStore, body: (store: TaskStore) => Promise<void>, options: StoreOptions = {}): Promise<void> {
  const reference = new MemoryStore(options);
  await body(reference);
  await withStore(make, async (store) => {
    await body(store);
    expect(normalize(await store.list())).toEqual(normalize(await reference.list()));
    expect(await store.events(0, 1000)).toEqual(await reference.events(0, 1000));
  }, options);
}
