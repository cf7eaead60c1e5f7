/**
 * What changed between two configurations of a run, split by what it takes: the live
 * settings (`LIVE_SETTING_KEYS`), which a running supervisor takes with `reconfigure`, and
 * everything else, which needs a restart. Pure.
 *
 * The options are compared after `resolveOptions`, defaults applied: a key taken out of the
 * file goes back to its default, and that is a change (`workers: 8` removed is `workers: 4`),
 * while writing out a default that was already in force is none.
 */
import { LIVE_SETTING_KEYS, type LiveSettings } from '../supervisor/live-settings.js';
import { resolveOptions, type ResolvedOptions } from '../supervisor/options.js';
import type { RunConfig } from './run-options.js';

/** The changes from one configuration to the next. */
export interface ConfigDiff {
  /** The live settings whose value changed, at their new values. */
  live: LiveSettings;
  /** Dotted paths of the other changed keys (`store`, `restart.maxRestarts`, `http`, `budgets`), sorted. */
  restart: string[];
}

/** Options that are code, not configuration: never in a config, never compared. */
const NOT_SETTINGS: ReadonlySet<string> = new Set(['logger', 'strategy', 'workerEntry', 'random']);

const LIVE: ReadonlySet<string> = new Set(LIVE_SETTING_KEYS);

/**
 * The live settings that changed and the keys that need a restart.
 *
 * @example
 * const next = await reloadConfig(current);
 * const { live, restart } = diffRunConfigs(current, next);
 * // live: { workers: 8 }, restart: ['restart.maxRestarts']
 */
export function diffRunConfigs(before: RunConfig, after: RunConfig): ConfigDiff {
  const was = resolveOptions(before.options);
  const now = resolveOptions(after.options);
  const live: Record<string, unknown> = {};
  for (const key of LIVE_SETTING_KEYS) if (!sameValue(was[key], now[key])) live[key] = now[key];
  const restart: string[] = [];
  const keys = new Set([...Object.keys(was), ...Object.keys(now)].filter((key) => !LIVE.has(key) && !NOT_SETTINGS.has(key)));
  for (const key of keys) changedPaths(key, was[key as keyof ResolvedOptions], now[key as keyof ResolvedOptions], restart);
  if (before.http !== after.http) restart.push('http');
  // The sections are options, compared above: rate limits and budgets live, the rest (pools,
  // laid out at start) by path.
  return { live: live as LiveSettings, restart: restart.sort() };
}

/** Pushes `path` if the values differ: for two plain objects, the path of each differing key inside. */
function changedPaths(path: string, a: unknown, b: unknown, out: string[]): void {
  if (sameValue(a, b)) return;
  if (isPlainObject(a) && isPlainObject(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) changedPaths(`${path}.${key}`, a[key], b[key], out);
    return;
  }
  out.push(path);
}

/** Deep equality of config values (JSON-like: plain objects, arrays, scalars); key order does not count. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    // A key present as undefined is the same as one left out.
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((key) => sameValue(a[key], b[key]));
  }
  return false;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
