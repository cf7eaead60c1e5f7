/**
 * Pure parsers for the few `/proc` files the process sweep reads. Kept apart from the
 * file-system walk so the byte-level details (NUL-separated environ, a `comm` that may hold
 * spaces and parentheses) are unit-tested without processes.
 */

/**
 * The value of `name` in the raw contents of `/proc/<pid>/environ` (entries `NAME=value`,
 * each ended by a NUL), or null when it is absent. The first entry wins, as `getenv` does.
 * Values are compared as bytes, so an environment that is not UTF-8 cannot confuse the match.
 */
export function environValue(environ: Buffer, name: string): string | null {
  const key = Buffer.from(`${name}=`);
  let start = 0;
  while (start < environ.length) {
    let end = environ.indexOf(0, start);
    if (end === -1) end = environ.length;
    if (end - start >= key.length && environ.compare(key, 0, key.length, start, start + key.length) === 0) {
      return environ.toString('utf8', start + key.length, end);
    }
    start = end + 1;
  }
  return null;
}

/**
 * The parent pid from the contents of `/proc/<pid>/stat`, or null when it does not parse.
 * The second field is the command name in parentheses and may itself contain `) `, so the
 * fields after it are found from the last `)`.
 */
export function statParentPid(stat: string): number | null {
  const close = stat.lastIndexOf(')');
  if (close === -1) return null;
  const fields = stat.slice(close + 2).split(' ');
  const ppid = Number(fields[1]);
  return Number.isInteger(ppid) && ppid >= 0 ? ppid : null;
}

/** The numeric entries of a `/proc` listing (the processes), in the order given. */
export function pidEntries(names: readonly string[]): number[] {
  const pids: number[] = [];
  for (const name of names) {
    if (/^[1-9][0-9]*$/.test(name)) pids.push(Number(name));
  }
  return pids;
}
