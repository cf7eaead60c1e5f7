import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeHead } from '../../src/git/head-file.js';
import { parsePackedRefs, readRefFiles } from '../../src/git/ref-files.js';
import { writeLooseRef } from '../../src/git/ref-write.js';
import { makeRepo, type TempRepo } from '../helpers/git-repo.js';

const GUARDED = ['refs/heads/', 'refs/tags/'];
const OWN = ['refs/heads/coord/'];

/** What git itself lists, as the reader must. */
function gitRefs(repo: TempRepo): Map<string, string> {
  const out = repo.git('for-each-ref', '--format=%(objectname) %(refname)', ...GUARDED);
  return new Map(out.split('\n').filter(Boolean).map((line) => line.split(' ') as [string, string])
    .map(([id, name]) => [name, id] as [string, string]).filter(([name]) => !name.startsWith('refs/heads/coord/')));
}

let repo: TempRepo | null = null;
afterEach(() => repo?.cleanup());

describe('readRefFiles', () => {
  it('reads loose and packed branches and tags as git lists them, loose over packed, nested names, coord/ left out', async () => {
    repo = makeRepo();
    const r = repo;
    r.git('branch', 'feature/deep/one');
    r.git('tag', 'v1');
    r.git('tag', '-a', 'v2', '-m', 'annotated');
    r.git('branch', 'coord/task-a');
    r.git('pack-refs', '--all');
    // Loose over packed: main moves after packing, and a new loose branch appears.
    writeFileSync(path.join(r.repo, 'b.txt'), 'b\n');
    r.git('add', 'b.txt');
    r.git('commit', '--quiet', '-m', 'second');
    r.git('branch', 'after-pack');
    r.git('branch', 'coord/task-b');
    const common = path.join(r.repo, '.git');
    const read = await readRefFiles(common, GUARDED, OWN);
    expect(read).toEqual(gitRefs(r));
    expect(read?.get('refs/heads/main')).toBe(r.git('rev-parse', 'main'));
    expect([...(read?.keys() ?? [])].some((name) => name.startsWith('refs/heads/coord/'))).toBe(false);
    // The annotated tag is the tag object, as for-each-ref's %(objectname) says, not the commit it peels to.
    expect(read?.get('refs/tags/v2')).toBe(r.git('rev-parse', 'v2'));
  });

  it('answers null for what only git can read: a symbolic ref among the branches, a reftable repository, a line it does not know', async () => {
    repo = makeRepo();
    const r = repo;
    const common = path.join(r.repo, '.git');
    r.git('symbolic-ref', 'refs/heads/alias', 'refs/heads/main');
    expect(await readRefFiles(common, GUARDED, OWN)).toBeNull();
    expect(parsePackedRefs('not a ref line\n', GUARDED)).toBeNull();
    r.git('symbolic-ref', '--delete', 'refs/heads/alias');
    expect(await readRefFiles(common, GUARDED, OWN)).toEqual(gitRefs(r));
  });
});

describe('writeHead', () => {
  it('puts HEAD on a branch and detaches it as git would, and leaves it alone while its lock is held', async () => {
    repo = makeRepo();
    const r = repo;
    const gitDir = path.join(r.repo, '.git');
    const head = r.git('rev-parse', 'HEAD');
    r.git('branch', 'coord/x');
    expect(await writeHead(gitDir, 'refs/heads/coord/x')).toBe(true);
    expect(r.git('symbolic-ref', 'HEAD')).toBe('refs/heads/coord/x');
    expect(r.git('status', '--porcelain')).toBe('');
    expect(await writeHead(gitDir, head)).toBe(true);
    expect(r.git('rev-parse', '--abbrev-ref', 'HEAD')).toBe('HEAD');
    expect(r.git('rev-parse', 'HEAD')).toBe(head);
    writeFileSync(path.join(gitDir, 'HEAD.lock'), 'held\n');
    expect(await writeHead(gitDir, 'refs/heads/main')).toBe(false);
    expect(readFileSync(path.join(gitDir, 'HEAD'), 'utf8')).toBe(`${head}\n`);
  });
});

describe('writeLooseRef', () => {
  it('sets a branch as git would (new, moved, over a packed one), and leaves to git what git would refuse or someone holds', async () => {
    repo = makeRepo();
    const r = repo;
    const common = path.join(r.repo, '.git');
    const first = r.git('rev-parse', 'HEAD');
    writeFileSync(path.join(r.repo, 'b.txt'), 'b\n');
    r.git('add', 'b.txt');
    r.git('commit', '--quiet', '-m', 'second');
    const second = r.git('rev-parse', 'HEAD');
    expect(await writeLooseRef(common, 'refs/heads/coord/a', first)).toBe(true);
    expect(r.git('rev-parse', 'refs/heads/coord/a')).toBe(first);
    expect(await writeLooseRef(common, 'refs/heads/coord/a', second)).toBe(true);
    expect(r.git('rev-parse', 'coord/a')).toBe(second);
    // Packed, then moved loose: the loose file is what git reads.
    r.git('pack-refs', '--all');
    expect(await writeLooseRef(common, 'refs/heads/coord/a', first)).toBe(true);
    expect(r.git('rev-parse', 'coord/a')).toBe(first);
    expect(r.git('for-each-ref', '--format=%(objectname)', 'refs/heads/coord/a')).toBe(first);

    // A ref below the name (loose or packed), a file where a folder must go, a held lock: git's to do.
    r.git('branch', 'coord/b/deeper');
    expect(await writeLooseRef(common, 'refs/heads/coord/b', first)).toBe(false);
    r.git('pack-refs', '--all');
    expect(await writeLooseRef(common, 'refs/heads/coord/b', first)).toBe(false);
    r.git('branch', 'plain');
    expect(await writeLooseRef(common, 'refs/heads/plain/x', first)).toBe(false);
    mkdirSync(path.join(common, 'refs', 'heads', 'coord'), { recursive: true });
    writeFileSync(path.join(common, 'refs', 'heads', 'coord', 'c.lock'), '');
    expect(await writeLooseRef(common, 'refs/heads/coord/c', first)).toBe(false);
    expect(r.git('for-each-ref', '--format=%(refname)', 'refs/heads/coord/c')).toBe('');
    expect(r.git('fsck', '--no-progress')).toBe('');
  });
});
