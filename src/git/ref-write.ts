/**
 * A branch set by writing its loose ref file as git's files backend does (a `.lock` file
 * created exclusively, written, renamed over the ref), for coord's own `refs/heads/coord/*`
 * branches before each task: it saves the one git process an `update-ref` costs, which is as
 * much as a short task itself. The move gets no reflog entry (git would add one); nothing of
 * coord's reads those, and the branch itself keeps its commits reachable.
 *
 * It writes only when that is exactly what git would do: not in a reftable repository, not
 * while another writer holds the ref's lock, and not where git would refuse the name (a file
 * where a folder of the ref must go, a folder or a packed ref below the ref's own name). In
 * every such case it answers false and the caller asks git.
 */
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';

/**
 * Points `ref` (`refs/heads/…`) of the repository whose common git directory is `commonDir`
 * at `id`; false, with nothing changed, when git must do it.
 *
 * @example
 * await writeLooseRef('/repo/.git', 'refs/heads/coord/fix-login', 'c0ffee…') // true
 */
export async function writeLooseRef(commonDir: string, ref: string, id: string): Promise<boolean> {
  // Synchronous, as the reads in ref-files.ts: calls of microseconds, a dozen per task.
  const quietly = <T>(call: () => T, otherwise: T): T => {
    try {
      return call();
    } catch {
      return otherwise;
    }
  };
  if (quietly(() => statSync(path.join(commonDir, 'reftable')), null) !== null) return false;
  const file = path.join(commonDir, ref);
  if (!quietly(() => (mkdirSync(path.dirname(file), { recursive: true }), true), false)) return false;
  if (quietly(() => statSync(file).isDirectory(), false)) return false;
  const packed = quietly(() => readFileSync(path.join(commonDir, 'packed-refs'), 'utf8'), '');
  if (packed.includes(` ${ref}/`)) return false;
  const lock = `${file}.lock`;
  const fd = quietly(() => openSync(lock, 'wx'), null);
  if (fd === null) return false;
  try {
    writeSync(fd, `${id}\n`);
    closeSync(fd);
    renameSync(lock, file);
    return true;
  } catch {
    quietly(() => closeSync(fd), undefined);
    rmSync(lock, { force: true });
    return false;
  }
}
