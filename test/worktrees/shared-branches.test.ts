/**
 * Task branches shared through a remote, with a real bare origin and two real clones (two
 * hosts): a branch published by one is fetched by the other when a dependent needs it.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isCoordError } from '../../src/errors.js';
import { resolveSharedRemote, SharedBranches, type DependencyHead } from '../../src/worktrees/shared-branches.js';
import { makeSharedOrigin, type SharedOrigin } from '../helpers/git-repo.js';

let shared: SharedOrigin;
afterEach(() => shared?.cleanup());

/** Commits `file` on a new branch in `clone` and returns the commit; the clone stays on main. */
function commitOnBranch(clone: string, branch: string, file: string): string {
  const { git } = shared;
  git(clone, 'switch', '--quiet', '-c', branch);
  writeFileSync(path.join(clone, file), `${branch}\n`);
  git(clone, 'add', file);
  git(clone, 'commit', '--quiet', '-m', `work on ${branch}`);
  const commit = git(clone, 'rev-parse', 'HEAD');
  git(clone, 'switch', '--quiet', 'main');
  return commit;
}

function hasCommit(clone: string, commit: string): boolean {
  return spawnSync('git', ['cat-file', '-e', `${commit}^{commit}`], { cwd: clone, stdio: 'ignore' }).status === 0;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return isCoordError(error) ? error.code : `not a coord error: ${String(error)}`;
  }
  return 'resolved';
}

describe('SharedBranches', () => {
  it('repairs task branches a killed host left behind on the remote, leaving the ones already right alone', async () => {
    shared = makeSharedOrigin(2);
    const [a = '', b = ''] = shared.clones;
    const onA = new SharedBranches(a, 'origin', 'host-a');
    // host a recorded two completions; it was killed after sharing the commits but before moving either branch
    const left = commitOnBranch(a, 'coord/left', 'left.txt');
    const right = commitOnBranch(a, 'coord/right', 'right.txt');
    await onA.share(left);
    await onA.share(right);
    await onA.advertise('coord/right', right);
    const onB = new SharedBranches(b, 'origin', 'host-b');
    await onB.ensureLocal([{ taskId: 'left', commit: left, branch: 'coord/left', node: 'host-a' }, { taskId: 'right', commit: right, branch: 'coord/right', node: 'host-a' }]);
    // the host that finishes the run repairs what the store says is complete
    const moved = await onB.advertiseAll([{ branch: 'coord/left', commit: left }, { branch: 'coord/right', commit: right }]);
    expect(moved).toEqual(['coord/left']);
    expect(shared.git(shared.origin, 'rev-parse', 'refs/heads/coord/left')).toBe(left);
    expect(shared.git(shared.origin, 'rev-parse', 'refs/heads/coord/right')).toBe(right);
    expect(await onB.advertiseAll([{ branch: 'coord/left', commit: left }])).toEqual([]);
  });

  it('shares a commit from one host under its own name and fetches it on another for a dependent', async () => {
    shared = makeSharedOrigin(2);
    const [a = '', b = ''] = shared.clones;
    const commit = commitOnBranch(a, 'coord/build', 'build.txt');
    await new SharedBranches(a, 'origin', 'host-a').share(commit);
    expect(shared.git(shared.origin, 'rev-parse', `refs/coord/commits/${commit}`)).toBe(commit);

    expect(hasCommit(b, commit)).toBe(false);
    const dep: DependencyHead = { taskId: 'build', commit, branch: 'coord/build', node: 'host-a' };
    await new SharedBranches(b, 'origin', 'host-b').ensureLocal([dep]);
    expect(hasCommit(b, commit)).toBe(true);
  });

  it('a late push of a stale attempt cannot replace the work a dependent needs (the shared ref is per commit)', async () => {
    shared = makeSharedOrigin(2);
    const [a = '', b = ''] = shared.clones;
    const onA = new SharedBranches(a, 'origin', 'host-a');
    const current = commitOnBranch(a, 'coord/t', 'current.txt');
    await onA.share(current);
    await onA.advertise('coord/t', current);
    // The stale attempt's push lands after the current one was recorded.
    shared.git(a, 'branch', '--quiet', '-D', 'coord/t');
    const stale = commitOnBranch(a, 'coord/t', 'stale.txt');
    await onA.share(stale);
    const dep: DependencyHead = { taskId: 't', commit: current, branch: 'coord/t', node: 'host-a' };
    await new SharedBranches(b, 'origin', 'host-b').ensureLocal([dep]);
    expect(hasCommit(b, current)).toBe(true);
    expect(shared.git(shared.origin, 'rev-parse', 'refs/heads/coord/t')).toBe(current);
  });

  it('rewrites a branch on the remote when a retried task is recorded again', async () => {
    shared = makeSharedOrigin(1);
    const [a = ''] = shared.clones;
    const branches = new SharedBranches(a, 'origin', 'host-a');
    const first = commitOnBranch(a, 'coord/t', 'one.txt');
    await branches.advertise('coord/t', first);
    shared.git(a, 'branch', '--quiet', '-D', 'coord/t');
    const second = commitOnBranch(a, 'coord/t', 'two.txt');
    await branches.advertise('coord/t', second);
    expect(shared.git(shared.origin, 'rev-parse', 'refs/heads/coord/t')).toBe(second);
  });

  it('runs no git for dependencies made on this node, and queues concurrent fetches of one branch so none fails', async () => {
    shared = makeSharedOrigin(2);
    const [a = '', b = ''] = shared.clones;
    const commit = commitOnBranch(a, 'coord/lib', 'lib.txt');
    await new SharedBranches(a, 'origin', 'host-a').share(commit);
    // A commit that exists nowhere, claimed to be local: no check, no error.
    const local: DependencyHead = { taskId: 'x', commit: 'f'.repeat(40), branch: 'coord/x', node: 'host-b' };
    const onB = new SharedBranches(b, 'origin', 'host-b');
    await onB.ensureLocal([local]);
    // Several dependents of the same task starting at once: the fetches queue, none fails on a ref lock.
    const dep: DependencyHead = { taskId: 'lib', commit, branch: 'coord/lib', node: 'host-a' };
    await Promise.all(Array.from({ length: 5 }, () => onB.ensureLocal([dep])));
    expect(hasCommit(b, commit)).toBe(true);
  });

  it('refuses with DEP_COMMIT_MISSING when the work is elsewhere and cannot be fetched', async () => {
    shared = makeSharedOrigin(2);
    const [a = '', b = ''] = shared.clones;
    const commit = commitOnBranch(a, 'coord/unpushed', 'u.txt');
    const dep: DependencyHead = { taskId: 'unpushed', commit, branch: 'coord/unpushed', node: 'host-a' };
    // No remote configured on this host.
    expect(await codeOf(new SharedBranches(b, null, 'host-b').ensureLocal([dep]))).toBe('DEP_COMMIT_MISSING');
    // A remote, but the commit was never shared: git fetch itself fails on the missing ref.
    expect(await codeOf(new SharedBranches(b, 'origin', 'host-b').ensureLocal([dep]))).toBe('DEP_COMMIT_MISSING');
    // The branch is on the remote, but the commit was never shared: still missing.
    await new SharedBranches(a, 'origin', 'host-a').advertise('coord/unpushed', commit);
    expect(await codeOf(new SharedBranches(b, 'origin', 'host-b').ensureLocal([dep]))).toBe('DEP_COMMIT_MISSING');
  });

  it('fails a push to an unreachable remote with GIT_PUSH_FAILED after its retries', async () => {
    shared = makeSharedOrigin(1);
    const [a = ''] = shared.clones;
    shared.git(a, 'remote', 'add', 'gone', path.join(shared.dir, 'no-such-origin.git'));
    const pauses: number[] = [];
    const branches = new SharedBranches(a, 'gone', 'host-a', async (ms) => void pauses.push(ms));
    const commit = shared.git(a, 'rev-parse', 'HEAD');
    expect(await codeOf(branches.share(commit))).toBe('GIT_PUSH_FAILED');
    expect(pauses).toHaveLength(2);
  });
});

describe('resolveSharedRemote', () => {
  it('defaults to origin only for a shared (postgres) store, and checks a named remote exists', async () => {
    shared = makeSharedOrigin(1);
    const [a = ''] = shared.clones;
    expect(await resolveSharedRemote(a, undefined, 'postgres')).toBe('origin');
    expect(await resolveSharedRemote(a, undefined, 'sqlite')).toBeNull();
    expect(await resolveSharedRemote(a, false, 'postgres')).toBeNull();
    expect(await resolveSharedRemote(a, 'origin', 'sqlite')).toBe('origin');
    expect(await codeOf(resolveSharedRemote(a, 'upstream', 'postgres'))).toBe('CONFIG_INVALID');
    shared.git(a, 'remote', 'remove', 'origin');
    expect(await resolveSharedRemote(a, undefined, 'postgres')).toBeNull();
  });
});
