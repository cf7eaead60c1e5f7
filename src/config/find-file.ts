/**
 * Which config file a run uses: `--config FILE`, else `COORD_CONFIG`, else `coord.yaml` at
 * the root of the repository (`--repo`, or the working directory) when there is one, else
 * none. A file that is named but missing is an error; a missing default is not.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { CoordError } from '../errors.js';
import { gitOutput } from '../git/run-git.js';

/** The file looked for at the repository root when none is named. */
export const DEFAULT_CONFIG_FILE = 'coord.yaml';

/** Where a named file came from, for the message when it is missing. */
export interface NamedConfigFile {
  file: string;
  /** `--config` or `COORD_CONFIG`. */
  via: string;
}

/**
 * The absolute path of the config file to use, or null for none. `named` paths are relative
 * to `cwd`. Throws `CONFIG_INVALID` when a named file does not exist.
 */
export async function findConfigFile(named: NamedConfigFile | null, repo: string | undefined, cwd: string): Promise<string | null> {
  if (named !== null) {
    const file = path.resolve(cwd, named.file);
    if (!isFile(file)) {
      throw new CoordError('CONFIG_INVALID', `${named.file}: no such config file (${named.via})`, { details: { file, via: named.via } });
    }
    return file;
  }
  const root = await repositoryRoot(path.resolve(cwd, repo ?? '.'));
  const file = path.join(root, DEFAULT_CONFIG_FILE);
  return isFile(file) ? file : null;
}

/** The top level of the git work tree holding `dir`, or `dir` itself outside one. */
async function repositoryRoot(dir: string): Promise<string> {
  if (!existsSync(dir)) return dir;
  try {
    return await gitOutput(['rev-parse', '--show-toplevel'], { cwd: dir });
  } catch {
    return dir; // not a git repository (the supervisor will say so), or a bare one
  }
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
