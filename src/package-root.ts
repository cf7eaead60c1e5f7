/**
 * Where coord's own files are, whether it runs built (`dist/src/...`) or from source
 * (`src/...`): the nearest folder above this module holding coord's package.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: { root: string; version: string } | undefined;

function find(): { root: string; version: string } {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'coord') return { root: dir, version: String(pkg.version) };
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('coord: cannot find its own package.json');
    dir = parent;
  }
}

/** The folder holding coord's package.json. */
export function packageRoot(): string {
  cached ??= find();
  return cached.root;
}

/** coord's version, from its package.json. */
export function packageVersion(): string {
  cached ??= find();
  return cached.version;
}
