/**
 * Which file a worker process runs. Built, it is `dist/workers/orchestrator.js`; run from
 * source (tests, `tsx`), the `.ts` file is forked with the tsx loader, which worker threads
 * then inherit through `execArgv`.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** A script to fork and the Node flags it needs. */
export interface WorkerEntry {
  path: string;
  execArgv: string[];
}

/** The orchestrator entry next to this build of coord. */
export function defaultWorkerEntry(): WorkerEntry {
  const js = fileURLToPath(new URL('../../workers/orchestrator.js', import.meta.url));
  if (existsSync(js)) return { path: js, execArgv: [] };
  return entryFor(fileURLToPath(new URL('../../workers/orchestrator.ts', import.meta.url)));
}

/** An entry for a given script, using the tsx loader when it is TypeScript. */
export function entryFor(file: string): WorkerEntry {
  return { path: file, execArgv: file.endsWith('.ts') ? ['--import', tsxLoader()] : [] };
}

/**
 * The tsx loader as an absolute URL: `--import tsx` would be resolved from the child's cwd,
 * a worktree that has no node_modules.
 */
function tsxLoader(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}
