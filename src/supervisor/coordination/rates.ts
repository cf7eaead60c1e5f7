/**
 * The shared rate limiter at work in a run: dispatch takes a start from it before it claims
 * a task (a task whose key must wait stays ready and holds no worker slot), the worker
 * confirms it before the attempt starts (`coord:rate-request`: granted, or `coord:rate-wait`
 * when a cooldown began meanwhile), provider signals put a key in cooldown for every worker,
 * and an attempt's end frees its slot. The policy is src/coordination/rate-limiter.ts.
 */
import type { AgentProfileConfig } from '../../agents/profiles.js';
import { RateLimiter, type RateKeyState, type RateLimit } from '../../coordination/rate-limiter.js';
import { rateKeyOf } from '../../coordination/rate-key.js';
import type { Logger } from '../../log/logger.js';
import type { ParentMessage, WorkerMessageOf } from '../../protocol/messages.js';
import type { TaskSpec } from '../../tasks/spec.js';

/** Why a ready task does not start now. */
export interface Hold {
  code: 'RATE_LIMITED' | 'BUDGET_EXCEEDED' | 'FILES_BUSY';
  /** What holds it: `rate:<key>`, `budget:<scope>`, `files:<task id>`. */
  scope: string;
  /** When to look again (ms), if time alone will lift it. */
  retryAfterMs?: number;
}

export class RateDesk {
  private readonly limiter: RateLimiter;

  constructor(
    limits: Readonly<Record<string, RateLimit>>,
    private readonly agents: () => Readonly<Record<string, AgentProfileConfig>>,
    private readonly logger: Logger,
  ) {
    this.limiter = new RateLimiter(limits);
  }

  configure(limits: Readonly<Record<string, RateLimit>>): void {
    this.limiter.configure(limits);
  }

  /** The limited key `spec`'s attempts start under, or null (no key, or one without limits). */
  keyFor(spec: Pick<TaskSpec, 'rateKey' | 'agent'>): string | null {
    const key = rateKeyOf(spec, this.agents());
    return this.limiter.limits(key) ? key : null;
  }

  /** Takes a start for `spec`'s attempt now, or says how long it waits. */
  acquire(spec: Pick<TaskSpec, 'id' | 'rateKey' | 'agent'>, now: number): Hold | null {
    const key = this.keyFor(spec);
    if (key === null) return null;
    const decision = this.limiter.request(key, spec.id, now);
    if (decision.granted) return null;
    return { code: 'RATE_LIMITED', scope: `rate:${key}`, retryAfterMs: decision.retryAfterMs };
  }

  /** The worker asks before the attempt starts: granted (what dispatch took), or wait (a cooldown began since). */
  answer(message: WorkerMessageOf<'coord:rate-request'>, now: number): ParentMessage {
    const decision = this.limiter.limits(message.key) ? this.limiter.request(message.key, message.taskId, now) : { granted: true as const };
    if (decision.granted) return { type: 'coord:rate-grant', requestId: message.requestId, key: message.key };
    this.logger.info({ taskId: message.taskId, key: message.key, retryAfterMs: decision.retryAfterMs, reason: decision.reason }, 'a start waits for the shared rate limit');
    return { type: 'coord:rate-wait', requestId: message.requestId, key: message.key, retryAfterMs: decision.retryAfterMs };
  }

  /** The attempt of `taskId` ended: its concurrency slot is free. */
  ended(taskId: string): void {
    this.limiter.release(taskId);
  }

  /** Tokens the running attempt of `taskId` used, against its key's window. */
  used(taskId: string, tokens: number, now: number): void {
    const key = this.limiter.keyHeldBy(taskId);
    if (key !== undefined) this.limiter.consume(key, tokens, now);
  }

  /** The provider limited `key` until `until`: every start on it waits, and its concurrency halves. */
  signal(key: string, until: number, now: number): void {
    if (!this.limiter.limits(key)) return;
    this.limiter.signal(key, until, now);
    this.logger.warn({ key, until: new Date(until).toISOString() }, 'rate limited by the provider: every start on the key waits');
  }

  nextChangeMs(now: number): number | null {
    return this.limiter.nextChangeMs(now);
  }

  state(now: number): RateKeyState[] {
    return this.limiter.state(now);
  }
}
