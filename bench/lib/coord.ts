/**
 * The built coord, as users run it. Benchmarks measure `dist/` rather than the TypeScript
 * sources: forked workers and their piscina threads would otherwise start under the tsx
 * loader, which adds hundreds of milliseconds to every fork and every module task that
 * coord's users never pay. The types still come from the sources, so the scripts type-check
 * without a build; `bench/run.mjs` builds when `dist/` is missing.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root (the folder holding package.json). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Absolute path of a file in the build, e.g. `dist('workers/orchestrator.js')`. */
export function dist(relative: string): string {
  return fileURLToPath(new URL(`../../dist/${relative}`, import.meta.url));
}

/** Imports a module of the build; `T` is the type of its source module. */
export async function loadDist<T>(relative: string): Promise<T> {
  const file = dist(relative);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` before the benchmarks`);
  return (await import(new URL(`../../dist/${relative}`, import.meta.url).href)) as T;
}

/** coord's public API from the build. */
export type CoordApi = typeof import('../../src/index.js');
export const loadCoord = (): Promise<CoordApi> => loadDist<CoordApi>('src/index.js');

/** Absolute path of a file in bench/fixtures. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
}
