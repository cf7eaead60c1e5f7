/**
 * Applying {@link LiveSettings} to a running supervisor: each setting goes to the part that
 * reads it — the worker count to the scaler, the log level to the logger, the attempt limit to
 * the store, breaker limits to the coordinator (for breakers spawned from now on) and to every
 * breaker that exists, the attempt limits to dispatch, the drain deadline to the coordinator,
 * rate limits and budgets to the run's gates.
 * Every change is logged and announced (`coord:reconfigured`).
 */
import type { CircuitBreakerConfig } from '../../machines/circuit-breaker.js';
import { setLogLevel, type Logger } from '../log/logger.js';
import type { TaskStore } from '../store/task-store.js';
import type { AttemptLimits } from './dispatch/dispatcher.js';
import type { SupervisorEventBus } from './events.js';
import type { LiveSettings } from './live-settings.js';
import type { ResolvedOptions } from './options.js';
import type { ScaleResult } from './scaling.js';

export interface ReconfigureDeps {
  /** The options the run was started with; updated so later readers see the new values. */
  config: ResolvedOptions;
  logger: Logger;
  store: Pick<TaskStore, 'setDefaults'>;
  /** What dispatch hands every attempt (read at each hand-over). */
  limits: AttemptLimits;
  scale(count: number): Promise<ScaleResult>;
  /** Sends the coordinator its new drain deadline and breaker defaults. */
  configureCoordinator(change: { drainDeadlineMs?: number; breaker?: Partial<CircuitBreakerConfig> }): void;
  /** Sends every existing breaker its new limits. */
  configureBreakers(breaker: Partial<CircuitBreakerConfig>): void;
  /** Gives the rate limiter and the budgets their new limits. */
  configureGates(change: { rateLimits?: ResolvedOptions['rateLimits']; budgets?: ResolvedOptions['budgets'] | null }): void;
  events: SupervisorEventBus;
}

/** What a reconfiguration changed: the keys applied, and the scaling when the worker count changed. */
export interface ReconfigureResult {
  applied: Array<keyof LiveSettings>;
  workers?: ScaleResult;
}

export async function applyLiveSettings(deps: ReconfigureDeps, settings: LiveSettings): Promise<ReconfigureResult> {
  const { config, limits } = deps;
  const applied: Array<keyof LiveSettings> = [];
  if (settings.logLevel !== undefined) {
    setLogLevel(deps.logger, settings.logLevel);
    config.logLevel = settings.logLevel;
    applied.push('logLevel');
  }
  if (settings.maxAttempts !== undefined) {
    deps.store.setDefaults({ maxAttempts: settings.maxAttempts });
    config.maxAttempts = settings.maxAttempts;
    applied.push('maxAttempts');
  }
  if (settings.quietAfterMs !== undefined) {
    limits.quietAfterMs = settings.quietAfterMs;
    config.quietAfterMs = settings.quietAfterMs;
    applied.push('quietAfterMs');
  }
  if (settings.defaultTimeoutMs !== undefined) {
    limits.defaultTimeoutMs = settings.defaultTimeoutMs;
    config.defaultTimeoutMs = settings.defaultTimeoutMs;
    applied.push('defaultTimeoutMs');
  }
  if (settings.drainDeadlineMs !== undefined || settings.breaker !== undefined) {
    deps.configureCoordinator({
      ...(settings.drainDeadlineMs === undefined ? {} : { drainDeadlineMs: settings.drainDeadlineMs }),
      ...(settings.breaker === undefined ? {} : { breaker: settings.breaker }),
    });
    if (settings.drainDeadlineMs !== undefined) {
      config.drainDeadlineMs = settings.drainDeadlineMs;
      applied.push('drainDeadlineMs');
    }
    if (settings.breaker !== undefined) {
      deps.configureBreakers(settings.breaker);
      config.breaker = { ...config.breaker, ...settings.breaker };
      applied.push('breaker');
    }
  }
  if (settings.rateLimits !== undefined) {
    deps.configureGates({ rateLimits: settings.rateLimits });
    config.rateLimits = settings.rateLimits;
    applied.push('rateLimits');
  }
  // `budgets: undefined` in a diff means "no caps any more" only when the key is there.
  if ('budgets' in settings) {
    deps.configureGates({ budgets: settings.budgets ?? null });
    config.budgets = settings.budgets;
    applied.push('budgets');
  }
  const result: ReconfigureResult = { applied };
  if (settings.workers !== undefined) {
    result.workers = await deps.scale(settings.workers);
    config.workers = settings.workers;
    applied.push('workers');
  }
  if (applied.length > 0) {
    const values = Object.fromEntries(applied.map((key) => [key, settings[key]]));
    deps.logger.info({ settings: values }, `reconfigured: ${applied.join(', ')}`);
    deps.events.emit('coord:reconfigured', { settings: values });
  }
  return result;
}
