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
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * Points `ref` (`refs/heads/…`) of the repository whose common git directory is `commonDir`
 * at `id`; false, with nothing changed, when git must do it.
 *
 * @example
 * await writeLooseRef('/repo/.git', 'refs/heads/coord/fix-login', 'c0ffee…') // true
 */
export async function writeLooseRef(commonDir: string, ref: string, id: string): Promise<boolean> {
  if (await stat(path.join(commonDir, 'reftable')).then(() => true, () => false)) return false;
  const file = path.join(commonDir, ref);
  if (!(await mkdir(path.dirname(file), { recursive: true }).then(() => true, () => false))) return false;
  if ((await stat(file).catch(() => null))?.isDirectory() === true) return false;
  const packed = await readFile(path.join(commonDir, 'packed-refs'), 'utf8').catch(() => '');
  if (packed.includes(` ${ref}/`)) return false;
  const lock = `${file}.lock`;
  const handle = await open(lock, 'wx').catch(() => null);
  if (handle === null) return false;
  try {
    await handle.writeFile(`${id}\n`);
    await handle.close();
    await rename(lock, file);
    return true;
  } catch {
    await handle.close().catch(() => {});
    await rm(lock, { force: true });
    return false;
  }
}
