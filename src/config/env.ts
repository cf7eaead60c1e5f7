/**
 * Environment overrides: `COORD_<KEY>` sets the config key `<key>` (`COORD_LOG_LEVEL` →
 * `logLevel`), over the config file and under the flags; `COORD_CONFIG` names the file.
 * Each value is checked by the key's own schema, as in the file, and a bad one is a
 * `CONFIG_INVALID` error naming the variable.
 *
 * An empty variable counts as unset (`COORD_WORKERS= coord …` clears an exported one).
 * A `COORD_*` variable that is not listed here is ignored, not refused: other tools share
 * the prefix, and so does what coord gives its own task processes (`COORD_TASK_ID`,
 * `COORD_WORKER_ID`, `COORD_ATTEMPT`, …), so a coord started by a task must not choke on it.
 */
import { z } from 'zod';
import { CoordError } from '../errors.js';
import { innermost, problemsOf } from './issues.js';
import { ConfigFileSchema, type ConfigFile } from './schema.js';

/** The config keys that have an environment variable. */
export const ENV_KEYS = [
  'workers', 'logLevel', 'store', 'stateDir', 'worktreeRoot', 'nodeId', 'leaseMs', 'remote', 'maxLogBytes',
  'heartbeatMs', 'drainDeadlineMs', 'allowDirty', 'http', 'maxAttempts', 'defaultTimeoutMs', 'quietAfterMs',
] as const satisfies ReadonlyArray<keyof ConfigFile>;

/** A key settable from the environment. */
export type EnvKey = (typeof ENV_KEYS)[number];

/** The variable naming the config file. */
export const CONFIG_FILE_VARIABLE = 'COORD_CONFIG';

/** What the environment sets. */
export interface EnvSettings {
  /** The keys set, as validated. */
  settings: Partial<Pick<ConfigFile, EnvKey>>;
  /** `COORD_CONFIG`, as given. */
  configFile: string | undefined;
}

/**
 * The variable of a key: `COORD_` and the key in upper snake case.
 *
 * @example
 * envVariableOf('drainDeadlineMs'); // 'COORD_DRAIN_DEADLINE_MS'
 */
export function envVariableOf(key: EnvKey): string {
  return `COORD_${key.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;
}

/**
 * Reads the `COORD_*` overrides from `env`. Throws `CONFIG_INVALID` naming the variable.
 *
 * @example
 * readEnvSettings({ COORD_WORKERS: '8', COORD_ALLOW_DIRTY: 'true' });
 * // { settings: { workers: 8, allowDirty: true }, configFile: undefined }
 * readEnvSettings({ COORD_WORKERS: '0' });
 * // CoordError CONFIG_INVALID: COORD_WORKERS: must be an integer from 1 to 64, not "0"
 */
export function readEnvSettings(env: Readonly<Record<string, string | undefined>>): EnvSettings {
  const settings: Record<string, unknown> = {};
  for (const key of ENV_KEYS) {
    const variable = envVariableOf(key);
    const raw = env[variable];
    if (raw === undefined || raw === '') continue;
    const schema = ConfigFileSchema.shape[key] as z.ZodType;
    const parsed = schema.safeParse(fromText(raw, schema), { reportInput: true });
    if (!parsed.success) {
      const problem = innermost(schema) instanceof z.ZodBoolean
        ? 'must be 1, true, 0 or false'
        : (parsed.error.issues.flatMap((issue) => problemsOf(issue, schema))[0]?.message ?? 'invalid');
      throw new CoordError('CONFIG_INVALID', `${variable}: ${problem}, not ${JSON.stringify(raw)}`, {
        details: { variable, value: raw },
      });
    }
    settings[key] = parsed.data;
  }
  const configFile = env[CONFIG_FILE_VARIABLE];
  return { settings: settings as EnvSettings['settings'], configFile: configFile === '' ? undefined : configFile };
}

/**
 * A variable's text as the value its key's schema checks: a number for a number (`none` or
 * `null` for null where null is allowed), `1` / `true` / `0` / `false` for a boolean.
 * Text that is none of these is passed on as it is, for the schema to refuse in its words.
 */
function fromText(raw: string, schema: z.ZodType): unknown {
  const text = raw.trim();
  if ((text === 'none' || text === 'null') && schema.safeParse(null).success) return null;
  const inner = innermost(schema);
  if (inner instanceof z.ZodNumber) return /^[+-]?\d+(?:\.\d+)?(?:e\d+)?$/i.test(text) ? Number(text) : raw;
  if (inner instanceof z.ZodBoolean) {
    const lower = text.toLowerCase();
    if (lower === '1' || lower === 'true') return true;
    if (lower === '0' || lower === 'false') return false;
  }
  return raw;
}
