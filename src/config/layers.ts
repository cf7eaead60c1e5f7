/**
 * The layers a run's settings come from — the config file, the `COORD_*` environment, the
 * flags — each as the same shape of settings, and the rule that stacks them: a later layer's
 * key wins, a key a layer leaves out shows the one under it, and a key no layer sets stays
 * out (its default is `createSupervisor()`'s). No I/O: paths are made absolute here, each
 * against where its layer was written (the file's directory, or the working directory).
 */
import path from 'node:path';
import type { CliArgs } from '../cli/args.js';
import { parseStoreUrl } from '../store/store-url.js';
import type { EnvSettings } from './env.js';
import { FILE_OPTIONS_SHAPE, type ConfigFile, type FileOptions } from './schema.js';

/** What one source says: supervisor options and the control plane's address. */
export type SettingsLayer = Partial<FileOptions & { http: string }>;

const OPTION_KEYS = Object.keys(FILE_OPTIONS_SHAPE) as Array<keyof FileOptions>;

/** The file's settings (not its sections), paths relative to the file's directory `dir`. */
export function fileLayer(file: ConfigFile, dir: string): SettingsLayer {
  const picked: Record<string, unknown> = {};
  for (const key of [...OPTION_KEYS, 'http'] as const) if (file[key] !== undefined) picked[key] = file[key];
  return absolutePaths(picked as SettingsLayer, dir);
}

/** The environment's settings, paths relative to the working directory. */
export function envLayer(env: EnvSettings, cwd: string): SettingsLayer {
  return absolutePaths(env.settings, cwd);
}

/** The flags' settings (the run-mode flags, `--tasks`, `--once` and such, are not settings). */
export function flagLayer(args: CliArgs, cwd: string): SettingsLayer {
  return absolutePaths(definedOnly({
    repo: args.repo,
    workers: args.workers,
    stateDir: args.stateDir,
    worktreeRoot: args.worktreeRoot,
    store: args.store,
    nodeId: args.nodeId,
    leaseMs: args.leaseMs,
    remote: args.remote,
    logLevel: args.logLevel,
    maxLogBytes: args.maxLogBytes,
    heartbeatMs: args.heartbeatMs,
    drainDeadlineMs: args.drainDeadlineMs,
    allowDirty: args.allowDirty,
    inbox: args.inbox,
    http: args.http,
  }), cwd);
}

/**
 * Stacks layers, lowest first: `stack(file, env, flags)`. Objects (`breaker`, `restart`) are
 * taken whole from the highest layer that has them; only the file has them today.
 *
 * @example
 * stack({ workers: 2, logLevel: 'debug' }, { workers: 8 }); // { workers: 8, logLevel: 'debug' }
 */
export function stack(...layers: SettingsLayer[]): SettingsLayer {
  return Object.assign({}, ...layers.map(definedOnly)) as SettingsLayer;
}

/** `layer` with `repo`, `stateDir`, `worktreeRoot`, `inbox` and a SQLite store's path absolute against `base`. */
function absolutePaths(layer: SettingsLayer, base: string): SettingsLayer {
  const out: SettingsLayer = { ...layer };
  if (out.repo !== undefined) out.repo = path.resolve(base, out.repo);
  if (out.stateDir !== undefined) out.stateDir = path.resolve(base, out.stateDir);
  if (out.worktreeRoot !== undefined) out.worktreeRoot = path.resolve(base, out.worktreeRoot);
  if (typeof out.inbox === 'string') out.inbox = path.resolve(base, out.inbox);
  if (out.store !== undefined) out.store = absoluteStoreUrl(out.store, base);
  return out;
}

/**
 * A SQLite URL with its path made absolute (`sqlite:state/coord.db` in `/srv/app/coord.yaml`
 * is `/srv/app/state/coord.db`, wherever coord is started); other URLs as they are. A URL
 * that does not parse is refused now (`STORE_URL_INVALID`), not when the store is opened.
 */
function absoluteStoreUrl(url: string, base: string): string {
  const location = parseStoreUrl(url, base);
  return location.kind === 'sqlite' ? `sqlite:${location.path}` : url;
}

function definedOnly<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;
}
