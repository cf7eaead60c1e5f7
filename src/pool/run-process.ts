/**
 * What the `runProcess` actor behind each worker machine does: forks one worker orchestrator, says
 * hello, and turns what the process says into machine events. Every message is parsed; a
 * message that does not parse is counted and refused (answered when a reply is due) and
 * never reaches the machine. When the machine stops this actor, a still-running process is
 * killed, so a worker actor can never leave an orphan behind.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fromCallback } from 'xstate';
import type { ProcessCommand, WorkerEvent, WorkerInput } from '../../machines/worker.js';
import { PROTOCOL_VERSION, WorkerMessageSchema, type ParentMessage, type WorkerMessage } from '../protocol/messages.js';
import { parseMessage, type Refusal } from '../protocol/parse.js';
import type { Logger } from '../log/logger.js';
import type { WorkerEntry } from './worker-entry.js';

/** Messages the machine does not need, handled by the supervisor's services instead. */
export type ServiceMessage = Exclude<WorkerMessage, { type: 'coord:ready' | 'coord:heartbeat' | 'coord:complete' | 'coord:failed' | 'coord:protocol-error' }>;

export interface RunProcessOptions {
  entry: WorkerEntry;
  heartbeatMs: number;
  moduleThreads: number;
  killGraceMs: number;
  /** The supervisor's run id, sent in `coord:hello` (the prefix of the attempt markers). */
  runId: string;
  logger: Logger;
  /** Extra environment for worker processes. */
  env?: Record<string, string>;
  /** Extra environment for one worker's process (its pool's), over `env`. */
  envOf?(workerId: string): Readonly<Record<string, string>>;
  /** The worker's heartbeat arrived (after its machine heard it). */
  onHeartbeat?(workerId: string): void;
  /** A refused (malformed or unknown) message from a worker. */
  onRefused(workerId: string, refusal: Refusal): void;
  /** A parsed message for the supervisor's services; `reply` answers the worker. */
  onServiceMessage(workerId: string, message: ServiceMessage, reply: (message: ParentMessage) => void): void;
  /** The main checkout (workers rebuild broken worktrees from it). */
  repoRoot: string;
}

/** What the `runProcess` callback actor is started with. */
export type RunProcessArgs = Parameters<Parameters<typeof fromCallback<ProcessCommand, WorkerInput>>[0]>[0];

/** Forks one worker process for the actor started with `args`; returns its clean-up. */
export function startWorkerProcess(options: RunProcessOptions, { input, sendBack, receive }: RunProcessArgs): () => void {
  const { workerId, worktree } = input;
  const log = options.logger.child({ workerId });
  const child = fork(options.entry.path, [], {
    cwd: worktree,
    execArgv: options.entry.execArgv,
    serialization: 'json',
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, ...options.env, ...options.envOf?.(workerId), COORD_WORKER_ID: workerId },
  });
  let exited = false;
  const send = (message: ParentMessage): void => {
    // A closed channel means the process is exiting; its exit event will follow.
    if (child.connected) child.send(message, (error) => error && log.debug({ err: error }, 'send to worker failed'));
  };
  pipeLines(child, log);

  child.on('message', (raw: unknown) => {
    const parsed = parseMessage(WorkerMessageSchema, raw);
    if (!parsed.ok) {
      options.onRefused(workerId, parsed);
      if (parsed.reply) send(parsed.reply);
      return;
    }
    const event = toMachineEvent(parsed.message);
    if (event) {
      sendBack(event);
      if (event.type === 'process.heartbeat') options.onHeartbeat?.(workerId);
    }
    else if (parsed.message.type === 'coord:protocol-error') log.warn({ refused: parsed.message }, 'worker refused a message');
    else options.onServiceMessage(workerId, parsed.message as ServiceMessage, send);
  });
  child.on('error', (error) => log.error({ err: error }, 'worker process error'));
  child.on('exit', (code, signal) => {
    exited = true;
    sendBack({ type: 'process.exited', code, signal, at: Date.now() });
  });
  send({
    type: 'coord:hello',
    protocolVersion: PROTOCOL_VERSION,
    workerId,
    worktree,
    repoRoot: options.repoRoot,
    heartbeatMs: options.heartbeatMs,
    moduleThreads: options.moduleThreads,
    killGraceMs: options.killGraceMs,
    runId: options.runId,
  });

  receive((command) => {
    if (command.type === 'process.send') send(command.message);
    else if (!exited) child.kill(command.signal);
  });
  return () => {
    if (!exited) child.kill('SIGKILL');
  };
}

function toMachineEvent(message: WorkerMessage): WorkerEvent | null {
  switch (message.type) {
    case 'coord:ready':
      return { type: 'process.ready', pid: message.pid, at: Date.now() };
    case 'coord:heartbeat':
      return { type: 'process.heartbeat', at: Date.now() };
    case 'coord:complete':
      return { type: 'task.completed', message };
    case 'coord:failed':
      return { type: 'task.failed', message };
    default:
      return null;
  }
}

/** A worker's stdout/stderr go to the log, a line each, never to the user's terminal. */
function pipeLines(child: ChildProcess, log: Logger): void {
  if (child.stdout) createInterface({ input: child.stdout }).on('line', (line) => log.info({ stream: 'stdout' }, line));
  if (child.stderr) createInterface({ input: child.stderr }).on('line', (line) => forwardWorkerLine(log, line));
}

const WORKER_LEVELS = new Set(['debug', 'info', 'warn', 'error']);

/**
 * One stderr line of a worker: its own JSON log lines keep their level and fields (a worker's
 * debug line must not reach the user's terminal as a warning); anything else (a crash trace)
 * is a warning.
 */
export function forwardWorkerLine(log: Logger, line: string): void {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    record = null;
  }
  if (typeof record === 'object' && record !== null && !Array.isArray(record)) {
    const { level, msg, time: _time, pid, ...fields } = record as Record<string, unknown>;
    if (typeof level === 'string' && WORKER_LEVELS.has(level) && typeof msg === 'string') {
      log[level as 'debug' | 'info' | 'warn' | 'error']({ ...fields, workerPid: pid }, msg);
      return;
    }
  }
  log.warn({ stream: 'stderr' }, line);
}
