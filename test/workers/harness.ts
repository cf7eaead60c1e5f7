/**
 * Test harness for the worker orchestrator: a real temporary git repository with a
 * detached worktree, and a real forked worker talked to over IPC the way the supervisor
 * does. Every message the worker sends is parsed with the protocol schema; anything that
 * does not parse is kept in `invalid` for the test to assert on.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gitOutput } from '../../src/git/run-git.js';
import { DEFAULT_MAX_LOG_BYTES } from '../../src/log/task-log-format.js';
import {
  PROTOCOL_VERSION,
  WorkerMessageSchema,
  type ParentMessage,
  type WorkerMessage,
  type WorkerMessageOf,
} from '../../src/protocol/messages.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ORCHESTRATOR = path.resolve(here, '../../workers/orchestrator.ts');
export const FAKE_AGENT = path.resolve(here, '../fixtures/fake-agent.mjs');
export const HANDLERS = path.resolve(here, '../fixtures/handlers');
/**
 * `--import tsx` would be resolved against the child's cwd, which is a temporary worktree
 * with no node_modules; the absolute URL of tsx's loader works from anywhere.
 */
export const TSX_IMPORT = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** A temporary repository with one commit and a detached worktree at it. */
export interface TempRepo {
  root: string;
  repo: string;
  worktree: string;
  head: string;
  logDir: string;
}

/** Runs git in `cwd` and returns trimmed stdout. */
export function git(cwd: string, ...args: string[]): Promise<string> {
  return gitOutput(args, { cwd });
}

/** Creates a repo (user.name/email set locally, one commit, `*.log` ignored) and a worktree. */
export async function createTempRepo(): Promise<TempRepo> {
  const root = await mkdtemp(path.join(tmpdir(), 'coord-workers-'));
  const repo = path.join(root, 'repo');
  await mkdir(repo);
  await git(repo, 'init', '--quiet', '--initial-branch=main');
  await git(repo, 'config', 'user.name', 'Test User');
  await git(repo, 'config', 'user.email', 'test@example.com');
  await writeFile(path.join(repo, 'README.md'), '# test repo\n');
  await writeFile(path.join(repo, '.gitignore'), '*.log\n');
  await git(repo, 'add', '-A');
  await git(repo, 'commit', '--quiet', '-m', 'initial');
  const head = await git(repo, 'rev-parse', 'HEAD');
  const worktree = path.join(root, 'wt');
  await git(repo, 'worktree', 'add', '--quiet', '--detach', worktree, head);
  const logDir = path.join(root, 'logs');
  return { root, repo, worktree, head, logDir };
}

/** Removes a temp repo. */
export async function removeTempRepo(repo: TempRepo): Promise<void> {
  await rm(repo.root, { recursive: true, force: true });
}

/**
 * The run id the harness's hellos carry (the prefix of the attempt markers). Random per test
 * file: a worker's exit sweep kills every process of its `<runId>.<workerId>.` prefix, and
 * test files run in parallel with the same worker id.
 */
export const TEST_RUN_ID = `h${randomBytes(6).toString('hex')}`;

/** A hello for `worktree` with short, test-friendly timings. */
export function helloFor(worktree: string, overrides: Partial<Extract<ParentMessage, { type: 'coord:hello' }>> = {}): ParentMessage {
  // createTempRepo puts the main checkout beside the worktree.
  return { type: 'coord:hello', protocolVersion: PROTOCOL_VERSION, workerId: 'w1', worktree, repoRoot: path.join(path.dirname(worktree), 'repo'),
    heartbeatMs: 200, moduleThreads: 1, killGraceMs: 500, runId: TEST_RUN_ID, ...overrides };
}

/** An assign of a run task. */
export function runAssign(repo: TempRepo, taskId: string, argv: string[], extra: { timeoutMs?: number | null; lease?: string; env?: Record<string, string>; maxLogBytes?: number } = {}): ParentMessage {
  return { type: 'coord:assign', taskId, attempt: 1, lease: extra.lease ?? `lease-${taskId}`,
    exec: { kind: 'run', argv, env: extra.env ?? {} }, branch: `coord/${taskId}`, startCommit: repo.head,
    timeoutMs: extra.timeoutMs ?? null, logFile: path.join(repo.logDir, `${taskId}.log`), maxLogBytes: extra.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES };
}

/** An assign of a module task. */
export function moduleAssign(repo: TempRepo, taskId: string, module: string, input: unknown, extra: { exportName?: string; timeoutMs?: number | null } = {}): ParentMessage {
  return { type: 'coord:assign', taskId, attempt: 1, lease: `lease-${taskId}`,
    exec: { kind: 'module', module, export: extra.exportName ?? 'default', input }, branch: `coord/${taskId}`,
    startCommit: repo.head, timeoutMs: extra.timeoutMs ?? null, logFile: path.join(repo.logDir, `${taskId}.log`),
    maxLogBytes: DEFAULT_MAX_LOG_BYTES };
}

type Waiter = { test: (message: WorkerMessage) => boolean; resolve: (message: WorkerMessage) => void };

/** A forked worker orchestrator and everything it said. */
export class WorkerHandle {
  readonly child: ChildProcess;
  readonly messages: WorkerMessage[] = [];
  readonly invalid: unknown[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #waiters: Waiter[] = [];

  constructor(worktree: string) {
    this.child = fork(ORCHESTRATOR, [], {
      cwd: worktree,
      serialization: 'json',
      execArgv: ['--import', TSX_IMPORT],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.child.stdout?.resume();
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    this.child.on('message', (raw: unknown) => {
      const parsed = WorkerMessageSchema.safeParse(raw);
      if (!parsed.success) {
        this.invalid.push(raw);
        return;
      }
      this.messages.push(parsed.data);
      this.#waiters = this.#waiters.filter((waiter) => {
        if (!waiter.test(parsed.data)) return true;
        waiter.resolve(parsed.data);
        return false;
      });
    });
  }

  /** Sends anything, valid or not, as the supervisor would. */
  send(message: unknown): void {
    this.child.send(message as object);
  }

  /** The messages of one type received so far. */
  all<T extends WorkerMessage['type']>(type: T): Array<WorkerMessageOf<T>> {
    return this.messages.filter((message): message is WorkerMessageOf<T> => message.type === type);
  }

  /** The first message (already received or still to come) of `type` matching `test`. */
  waitFor<T extends WorkerMessage['type']>(type: T, test: (message: WorkerMessageOf<T>) => boolean = () => true,
    timeoutMs = 30_000): Promise<WorkerMessageOf<T>> {
    const matches = (message: WorkerMessage): message is WorkerMessageOf<T> =>
      message.type === type && test(message as WorkerMessageOf<T>);
    const found = this.messages.find(matches);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} within ${timeoutMs} ms; stderr:\n${this.stderr}`)), timeoutMs);
      this.#waiters.push({ test: matches, resolve: (message) => {
        clearTimeout(timer);
        resolve(message as WorkerMessageOf<T>);
      } });
    });
  }

  /** The final message (complete or failed) for `taskId`. */
  async final(taskId: string, timeoutMs = 30_000): Promise<WorkerMessageOf<'coord:complete'> | WorkerMessageOf<'coord:failed'>> {
    return Promise.race([
      this.waitFor('coord:complete', (m) => m.taskId === taskId, timeoutMs),
      this.waitFor('coord:failed', (m) => m.taskId === taskId, timeoutMs),
    ]);
  }

  /** Sends hello and waits for ready. */
  async start(worktree: string, overrides: Parameters<typeof helloFor>[1] = {}): Promise<WorkerMessageOf<'coord:ready'>> {
    this.send(helloFor(worktree, overrides));
    return this.waitFor('coord:ready');
  }

  /** Kills the worker and every task process group it reported starting. */
  async dispose(): Promise<void> {
    for (const started of this.all('coord:started')) {
      if (started.pid !== null) killQuietly(-started.pid);
    }
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * True when `pid` no longer runs. A killed process whose parent died is re-parented to
 * PID 1, which in a container may leave it a zombie for a while; a zombie runs nothing.
 */
export async function isGone(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}
