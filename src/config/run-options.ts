/**
 * A run's configuration, from its four sources: flags over `COORD_*` environment variables
 * over the config file over `createSupervisor()`'s defaults. What it was built from is kept
 * with it, so the daemon can build it again when the file changes ({@link reloadConfig}) and
 * compare the two (`diffRunConfigs`).
 */
import path from 'node:path';
import type { CliArgs } from '../cli/args.js';
import { resolveOptions, type SupervisorOptions } from '../supervisor/options.js';
import { CONFIG_FILE_VARIABLE, readEnvSettings } from './env.js';
import { findConfigFile } from './find-file.js';
import { envLayer, fileLayer, flagLayer, stack } from './layers.js';
import { loadConfigFile } from './load.js';
import type { ConfigFile } from './schema.js';
import { SECTION_KEYS, type SectionKey } from './sections-schema.js';

/** The sections not used by the supervisor yet, as validated. */
export type ConfigSections = Pick<ConfigFile, SectionKey>;

/** Where a run's configuration comes from. */
export interface RunContext {
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** A run's configuration. */
export interface RunConfig {
  /** createSupervisor() options (no logger), layered: flags over env over file over defaults; repo is absolute. */
  options: Omit<SupervisorOptions, 'logger'> & { repo: string; store?: string };
  /** The config file used (absolute), or null when there is none. */
  file: string | null;
  /** --http / COORD_HTTP / `http:` in the file, or null. */
  http: string | null;
  /** The sections not yet used by the supervisor (agents, rateLimits, budgets, merge, pools), as validated. */
  sections: ConfigSections;
  /** What to tell the user once: e.g. that a section is accepted but not enforced. */
  warnings: string[];
  /** What the config was built from, so it can be rebuilt when the file changes. */
  inputs: { args: CliArgs; env: Record<string, string | undefined>; cwd: string };
}

/**
 * Builds a run's configuration. Throws `CONFIG_INVALID` (a bad file, with its line and
 * column; a bad `COORD_*` variable; a named file that is missing) or `STORE_URL_INVALID`.
 *
 * @example
 * const config = await loadRunConfig(parseCliArgs(argv), { env: process.env, cwd: process.cwd() });
 * for (const warning of config.warnings) process.stderr.write(`coord: ${warning}\n`);
 * const supervisor = createSupervisor(config.options);
 */
export async function loadRunConfig(args: CliArgs, ctx: RunContext): Promise<RunConfig> {
  // Only coord's own variables are kept: the config may be logged, the environment holds secrets.
  const env = Object.fromEntries(Object.entries(ctx.env).filter(([name]) => name.startsWith('COORD_')));
  const inputs = { args, env, cwd: ctx.cwd };
  const { configFile } = readEnvSettings(env);
  const named = args.config !== undefined
    ? { file: args.config, via: '--config' }
    : configFile !== undefined ? { file: configFile, via: CONFIG_FILE_VARIABLE } : null;
  return buildRunConfig(inputs, await findConfigFile(named, args.repo, ctx.cwd));
}

/**
 * Builds the configuration again from the same flags and environment, re-reading the same
 * file (missing now: `CONFIG_INVALID`). Same errors as {@link loadRunConfig}; the caller
 * keeps the configuration it has when this throws.
 */
export function reloadConfig(config: RunConfig): Promise<RunConfig> {
  return buildRunConfig(config.inputs, config.file);
}

async function buildRunConfig(inputs: RunConfig['inputs'], file: string | null): Promise<RunConfig> {
  const env = readEnvSettings(inputs.env);
  const shown = file === null ? '' : displayName(file, inputs.cwd);
  const fromFile = file === null ? null : await loadConfigFile(file, shown);
  const { http, ...options } = stack(
    file === null || fromFile === null ? {} : fileLayer(fromFile, path.dirname(file)),
    envLayer(env, inputs.cwd),
    flagLayer(inputs.args, inputs.cwd),
  );
  // The sections are supervisor options.
  const supervised = Object.fromEntries((['agents', 'rateLimits', 'budgets', 'merge', 'pools'] as const).flatMap((key) => (fromFile?.[key] === undefined ? [] : [[key, fromFile[key]]])));
  const runOptions = { ...options, repo: options.repo ?? inputs.cwd, ...supervised };
  // Every layer's values were checked one by one; this checks what they make together.
  resolveOptions(runOptions);
  const sections: ConfigSections = {};
  const warnings: string[] = [];
  for (const key of SECTION_KEYS) {
    if (fromFile?.[key] === undefined) continue;
    Object.assign(sections, { [key]: fromFile[key] });
  }
  if (fromFile?.pools !== undefined && runOptions.workers !== undefined) {
    warnings.push(`${shown}: pools are declared, so the worker count given (${runOptions.workers}) is not used: each pool has its own`);
  }
  return { options: runOptions, file, http: http ?? null, sections, warnings, inputs };
}

/** A file as the user would name it: relative to the working directory when inside it. */
function displayName(file: string, cwd: string): string {
  const relative = path.relative(cwd, file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}
