/**
 * The config file (`coord.yaml`, or JSON): one strict zod schema, camelCase keys. It holds
 * what the run flags hold, the supervisor options that have no flag, and the sections later
 * capabilities need (see `sections-schema.ts`).
 *
 * The options' limits are not repeated here: each key is the `createSupervisor()` option's
 * own schema (`OptionsSchema` in `src/supervisor/options.ts`) without its default. A key the
 * file leaves out stays out of the layered options, so the defaults are applied in one
 * place, by `resolveOptions`, whatever the options came from.
 */
import { z } from 'zod';
import { parseStoreUrl } from '../store/store-url.js';
import { OptionsSchema } from '../supervisor/options.js';
import { HTTP_ADDRESS_HINT, tryParseHttpAddress } from './http-address.js';
import { SECTIONS_SHAPE } from './sections-schema.js';
import { BUILT_IN_AGENTS } from '../agents/profiles.js';

/** A schema with its `.default()` / `.prefault()` taken off. */
type Undefaulted<T> = T extends z.ZodDefault<infer I extends z.ZodType> ? I : T extends z.ZodPrefault<infer I extends z.ZodType> ? I : T;

/** `schema` without its default, optional: an absent key stays absent. */
function undefaulted<T extends z.ZodType>(schema: T): z.ZodOptional<Undefaulted<T>> {
  const inner = schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault ? schema.unwrap() : schema;
  return z.optional(inner as Undefaulted<T>);
}

/** An object schema whose every key is {@link undefaulted}, still strict. */
function undefaultedObject<S extends z.ZodRawShape>(schema: z.ZodObject<S>): z.ZodObject<{ [K in keyof S]: z.ZodOptional<Undefaulted<S[K]>> }, z.core.$strict> {
  const shape = Object.fromEntries(Object.entries(schema.shape).map(([key, value]) => [key, undefaulted(value as z.ZodType)]));
  return z.strictObject(shape) as z.ZodObject<{ [K in keyof S]: z.ZodOptional<Undefaulted<S[K]>> }, z.core.$strict>;
}

const option = OptionsSchema.shape;

/** A store URL, checked as the supervisor will read it (the instance form is for code only). */
const StoreUrl = z.string().min(1).superRefine((url, ctx) => {
  try {
    parseStoreUrl(url);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
  }
});

/** A remote name, or `false` / `"none"` for none (as `--remote none`). */
const Remote = z.union([z.literal('none').transform(() => false as const), option.remote.unwrap()], {
  error: 'must be a git remote name, or false (or "none") for none',
});

const Http = z.string().refine((value) => tryParseHttpAddress(value) !== null, { message: `must be ${HTTP_ADDRESS_HINT}` });

/** The keys that are `createSupervisor()` options, as the file holds them. */
export const FILE_OPTIONS_SHAPE = {
  repo: undefaulted(option.repo),
  workers: undefaulted(option.workers),
  stateDir: undefaulted(option.stateDir),
  worktreeRoot: undefaulted(option.worktreeRoot),
  store: StoreUrl.optional(),
  nodeId: undefaulted(option.nodeId),
  leaseMs: undefaulted(option.leaseMs),
  remote: Remote.optional(),
  logLevel: undefaulted(option.logLevel),
  maxLogBytes: undefaulted(option.maxLogBytes),
  heartbeatMs: undefaulted(option.heartbeatMs),
  drainDeadlineMs: undefaulted(option.drainDeadlineMs),
  allowDirty: undefaulted(option.allowDirty),
  maxAttempts: undefaulted(option.maxAttempts),
  maxReleases: undefaulted(option.maxReleases),
  defaultTimeoutMs: undefaulted(option.defaultTimeoutMs),
  quietAfterMs: undefaulted(option.quietAfterMs),
  baseRef: undefaulted(option.baseRef),
  workerCapabilities: undefaulted(option.workerCapabilities),
  breaker: undefaulted(option.breaker),
  fallback: undefaulted(option.fallback),
  restart: undefaultedObject(option.restart.unwrap()).optional(),
  mailbox: undefaultedObject(option.mailbox.unwrap()).optional(),
  maxPromptBytes: undefaulted(option.maxPromptBytes),
  agentResultGraceMs: undefaulted(option.agentResultGraceMs),
  agentStallAfterMs: undefaulted(option.agentStallAfterMs),
  maxRateLimitWaits: undefaulted(option.maxRateLimitWaits),
  rateLimitDefaultWaitMs: undefaulted(option.rateLimitDefaultWaitMs),
  inbox: undefaulted(option.inbox),
  fileOutputs: undefaulted(option.fileOutputs),
  handoffRemove: undefaulted(option.handoffRemove),
};

/** Every key of the file. */
export const ConfigFileSchema = z
  .strictObject({
    ...FILE_OPTIONS_SHAPE,
    /** The control plane's address, `HOST:PORT`. */
    http: Http.optional(),
    ...SECTIONS_SHAPE,
  })
  .superRefine((config, ctx) => {
    // A pool names a built-in agent profile or one of the same file, and pools are told apart by id.
    const seen = new Set<string>();
    config.pools?.forEach((pool, index) => {
      if (pool.agent !== undefined && !Object.hasOwn(config.agents ?? {}, pool.agent) && !(BUILT_IN_AGENTS as string[]).includes(pool.agent)) {
        const known = [...new Set([...BUILT_IN_AGENTS, ...Object.keys(config.agents ?? {})])];
        ctx.addIssue({
          code: 'custom', path: ['pools', index, 'agent'],
          message: `no agent profile "${pool.agent}", built in or under agents (there are: ${known.join(', ')})`,
        });
      }
      if (seen.has(pool.id)) ctx.addIssue({ code: 'custom', path: ['pools', index, 'id'], message: `a second pool "${pool.id}"` });
      seen.add(pool.id);
    });
  });

/** A validated config file. */
export type ConfigFile = z.output<typeof ConfigFileSchema>;

/** The keys of a config file that are supervisor options. */
export type FileOptions = Pick<ConfigFile, keyof typeof FILE_OPTIONS_SHAPE>;
