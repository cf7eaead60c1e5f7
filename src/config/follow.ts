/**
 * Following the config file while a supervisor runs: each settled edit is loaded again
 * (same flags, same environment), its live settings are handed to the supervisor and
 * logged one by one, the changes that need a restart are reported, and an edit that does
 * not load is logged and ignored — the running configuration stays.
 *
 * Two baselines, because the two kinds of change end differently: a live change is in force
 * once applied, so the next edit is compared with the last configuration applied; a restart
 * change is never in force until a restart, so what needs one is always measured from the
 * configuration the run started with (an edit reverted is then no longer reported).
 */
import type { Logger } from '../log/logger.js';
import type { LiveSettings } from '../supervisor/live-settings.js';
import { resolveOptions } from '../supervisor/options.js';
import { diffRunConfigs, sameValue } from './live-diff.js';
import { reloadConfig, type RunConfig } from './run-options.js';
import { watchConfigFile, type ConfigWatch, type ConfigWatchOptions } from './watch.js';

/** What {@link followConfigFile} needs. */
export interface FollowOptions {
  /** Puts live settings into effect (`supervisor.reconfigure`); a rejection keeps the old ones. */
  reconfigure(live: LiveSettings): void | Promise<void>;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  debounceMs?: number;
  /** After each edit that loaded: the live keys applied, and every key that waits for a restart. */
  onReloaded?(change: { applied: string[]; restart: string[] }): void;
  /** An edit that did not load or apply: the running configuration stays. */
  onRejected?(error: unknown): void;
  /** The watcher (a fake in unit tests). */
  watch?: (file: string, options: ConfigWatchOptions) => ConfigWatch;
}

/** A running follow. */
export interface ConfigFollower {
  ready: Promise<void>;
  /** The configuration in force: live settings as last applied. */
  current(): RunConfig;
  /** Stops watching, after a reload under way has finished. */
  close(): Promise<void>;
}

/**
 * Follows `started.file` (nothing to follow when it is null).
 *
 * @example
 * const follower = followConfigFile(config, { reconfigure: (live) => supervisor.reconfigure(live), logger });
 * await follower.ready;
 */
export function followConfigFile(started: RunConfig, options: FollowOptions): ConfigFollower {
  const { reconfigure, logger, debounceMs, watch = watchConfigFile } = options;
  const rejected = (error: unknown): void => options.onRejected?.(error);
  let applied = started;
  if (started.file === null) return { ready: Promise.resolve(), current: () => applied, close: async () => undefined };
  const file = started.file;
  let reported: string[] = [];
  // One reload at a time, in the order the edits settled.
  let queue = Promise.resolve();

  const reload = async (): Promise<void> => {
    let next: RunConfig;
    try {
      next = await reloadConfig(applied);
    } catch (error) {
      logger.error({ err: error, file }, 'config edit rejected; the running configuration is kept');
      rejected(error);
      return;
    }
    const { live } = diffRunConfigs(applied, next);
    if (Object.keys(live).length > 0) {
      try {
        await reconfigure(live);
      } catch (error) {
        logger.error({ err: error, file, live }, 'live settings not applied; the running configuration is kept');
        rejected(error);
        return;
      }
      const was = resolveOptions(applied.options) as Record<string, unknown>;
      for (const [key, value] of Object.entries(live)) logger.info({ file, key, from: was[key], to: value }, `config: ${key} changed`);
    }
    applied = next;
    const { restart } = diffRunConfigs(started, next);
    options.onReloaded?.({ applied: Object.keys(live), restart });
    if (sameValue(restart, reported)) return;
    reported = restart;
    if (restart.length > 0) logger.warn({ file, keys: restart }, `config: ${restart.join(', ')} changed; this takes a restart`);
    else logger.info({ file }, 'config: no change is waiting for a restart any more');
  };

  const watcher = watch(file, {
    ...(debounceMs === undefined ? {} : { debounceMs }),
    onChange: () => {
      // A reload that throws past its own handling must not stop the ones after it.
      queue = queue.then(reload).catch((error: unknown) => {
        logger.error({ err: error, file }, 'config reload failed; the running configuration is kept');
        rejected(error);
      });
    },
    onError: (error) => {
      logger.error({ err: error, file }, 'config file unreadable; the running configuration is kept');
      rejected(error);
    },
  });
  return {
    ready: watcher.ready,
    current: () => applied,
    async close() {
      await watcher.close();
      await queue;
    },
  };
}
