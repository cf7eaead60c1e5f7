/**
 * Git's refs read straight from the repository's files, without a git process: loose ref
 * files under `refs/`, then `packed-refs` for the ones that are not loose. A git process
 * costs a few milliseconds (tens on a loaded machine); reading a handful of small files
 * costs tens of microseconds, which matters when it happens twice per task.
 *
 * It reads only the plain files backend, as git writes it: when anything is not what this
 * reader understands (a reftable repository, a symbolic ref, a file that is not an object
 * id), it answers null and the caller asks git instead. Git writes every ref file whole
 * (a `.lock` file renamed over it), so a loose ref is read either before or after a change.
 * `packed-refs` can be rewritten while the loose files are walked (a concurrent
 * `git pack-refs` moves loose refs into it and deletes them), so it is read last and the
 * walk is done again when it changed meanwhile, as git's own reader does. The reads are
 * synchronous: each answers in microseconds, where an awaited one waits for a thread of
 * libuv's pool (0.2 ms and more on a loaded machine), and there are a dozen per task.
 */
import { readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';

/** Refs as `refname → object id`. */
export type RefEntries = Map<string, string>;

const OBJECT_ID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;
const ROUNDS = 3;

/**
 * The refs under `prefixes` (e.g. `refs/heads/`, `refs/tags/`) of the repository whose
 * common git directory is `commonDir`, leaving out those under `exclude`; null when only
 * git can say (see the module comment).
 *
 * @example
 * await readRefFiles('/repo/.git', ['refs/heads/', 'refs/tags/'], ['refs/heads/coord/'])
 * // Map { 'refs/heads/main' => 'c0ffee…', 'refs/tags/v1' => 'beef…' }
 */
export async function readRefFiles(commonDir: string, prefixes: readonly string[], exclude: readonly string[] = []): Promise<RefEntries | null> {
  if (exists(path.join(commonDir, 'reftable'))) return null;
  const packedFile = path.join(commonDir, 'packed-refs');
  for (let round = 0; round < ROUNDS; round += 1) {
    const before = signature(packedFile);
    const loose: RefEntries = new Map();
    for (const prefix of prefixes) {
      if (!walkLoose(commonDir, prefix.replace(/\/$/, ''), exclude, loose)) return null;
    }
    const packed = attempt(() => readFileSync(packedFile, 'utf8'), (code) => (code === 'ENOENT' ? '' : null));
    if (packed === null) return null;
    if (signature(packedFile) !== before) continue;
    const refs = parsePackedRefs(packed, prefixes, exclude);
    if (refs === null) return null;
    for (const [name, id] of loose) refs.set(name, id);
    return refs;
  }
  return null;
}

/**
 * The entries of a `packed-refs` file under `prefixes` and not under `exclude`; null when a
 * line is not understood. Pure.
 *
 * @example
 * parsePackedRefs('# pack-refs with: peeled\nc0ffee… refs/tags/v1\n^beef…\n', ['refs/tags/']) // Map { 'refs/tags/v1' => 'c0ffee…' }
 */
export function parsePackedRefs(text: string, prefixes: readonly string[], exclude: readonly string[] = []): RefEntries | null {
  const refs: RefEntries = new Map();
  for (const line of text.split('\n')) {
    // The header, and `^<id>` lines: the object an annotated tag above points at.
    if (line === '' || line.startsWith('#') || line.startsWith('^')) continue;
    const space = line.indexOf(' ');
    const id = line.slice(0, space);
    const name = line.slice(space + 1);
    if (space < 0 || !OBJECT_ID.test(id)) return null;
    if (within(name, prefixes, exclude)) refs.set(name, id);
  }
  return refs;
}

function within(name: string, prefixes: readonly string[], exclude: readonly string[]): boolean {
  return prefixes.some((p) => name.startsWith(p)) && !exclude.some((p) => name.startsWith(p));
}

/** Adds the loose refs under `commonDir/<ref>` to `into`; false when one is not a plain object id. */
function walkLoose(commonDir: string, ref: string, exclude: readonly string[], into: RefEntries): boolean {
  if (exclude.some((p) => `${ref}/`.startsWith(p))) return true;
  const entries = attempt<Dirent[] | null>(() => readdirSync(path.join(commonDir, ref), { withFileTypes: true }), (code) => (code === 'ENOENT' ? [] : null));
  if (entries === null) return false;
  for (const entry of entries) {
    const name = `${ref}/${entry.name}`;
    if (entry.isDirectory()) {
      if (!walkLoose(commonDir, name, exclude, into)) return false;
      continue;
    }
    // A `.lock` is a change under way, not a ref; git ignores it too.
    if (!entry.isFile() || entry.name.endsWith('.lock') || exclude.some((p) => name.startsWith(p))) continue;
    const content = attempt<string | null>(() => readFileSync(path.join(commonDir, name), 'utf8'), () => null);
    // Gone since the listing: deleted, or just packed (the packed-refs check catches that).
    if (content === null) continue;
    const id = content.trim();
    if (!OBJECT_ID.test(id)) return false;
    into.set(name, id);
  }
  return true;
}

/** `read()`, or what `failed` makes of the error's code. */
function attempt<T>(read: () => T, failed: (code: string | undefined) => T): T {
  try {
    return read();
  } catch (error) {
    return failed((error as NodeJS.ErrnoException).code);
  }
}

function signature(file: string): string {
  return attempt(() => {
    const s = statSync(file);
    return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
  }, () => 'none');
}

function exists(file: string): boolean {
  return attempt(() => (statSync(file), true), () => false);
}
