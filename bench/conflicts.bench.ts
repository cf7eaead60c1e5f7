/**
 * 14. Conflict prediction: what watching 32 live branches for conflicts costs on a
 * 2,000-file repository.
 *
 * 32 branches off `main`, each with one commit touching its own file; two pairs of them
 * also change the same line of a shared file (so they conflict), and `main` moves with a
 * commit one branch conflicts with. Measured, through the build:
 *
 * - one pair: the watcher's merge of two commits (`git merge-tree --write-tree` through
 *   coord's `runGit`) against a raw `git merge-tree` of the same commits, in the same run;
 * - a first check of the 32 branches: 496 pairs + 32 against the target, all merged;
 * - an incremental check after one branch moved: 31 + 1 pairs merged, the rest cached;
 *   a check where nothing changed (0 merges); and the same with 4 branches running in
 *   worktrees with uncommitted edits (4 snapshots a check);
 * - a snapshot of a worktree with uncommitted changes (the watcher's steady state, its
 *   temporary index kept from the previous snapshot, and a first one with a fresh index),
 *   against a raw `git status --porcelain` of the same worktree.
 *
 * Run: node --import tsx bench/conflicts.bench.ts (after `npx tsc -p tsconfig.build.json`)
 */
import { execFile, execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import type { LiveBranch } from '../src/coordination/conflict-watch.js';
import { loadDist } from './lib/coord.js';
import { makeRepo } from './lib/repo.js';
import { Report } from './lib/report.js';
import { fmt, quantile, ratio, summarize } from './lib/stats.js';

type Watch = typeof import('../src/coordination/conflict-watch.js');
type MergePair = typeof import('../src/coordination/merge-pair.js');
const { ConflictWatcher, snapshotWorktree } = await loadDist<Watch>('src/coordination/conflict-watch.js');
const { mergeConflictFiles } = await loadDist<MergePair>('src/coordination/merge-pair.js');

const FILES = 2_000;
const BRANCHES = 32;
const PAIR_SAMPLES = 60;
const FULL_CHECKS = 3;
const INCREMENTAL_CHECKS = 8;
const SNAPSHOTS = 30;
const run = promisify(execFile);

const report = new Report('conflicts', '14. Conflict prediction');
const scratch = makeRepo(FILES);
const { repo, git } = scratch;
const SHARED_LINES = Array.from({ length: 40 }, (_, i) => `export const line${i} = ${i};`);
const sharedText = (edits: Record<number, string> = {}): string => `${SHARED_LINES.map((line, i) => edits[i] ?? line).join('\n')}\n`;
writeFileSync(path.join(repo, 'src/shared.ts'), sharedText());
git('add', '-A');
git('commit', '--quiet', '-m', 'shared');
const base = git('rev-parse', 'HEAD');

/** A commit on `parent` writing `files` (path → text), made with plumbing in a temporary index (no checkout). */
function commitFiles(parent: string, files: Record<string, string>, message: string): string {
  const env = { ...process.env, GIT_INDEX_FILE: path.join(scratch.dir, 'bench.index') };
  execFileSync('git', ['read-tree', parent], { cwd: repo, env });
  for (const [file, text] of Object.entries(files)) {
    const blob = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: repo, env, input: text, encoding: 'utf8' }).trim();
    execFileSync('git', ['update-index', '--add', '--cacheinfo', `100644,${blob},${file}`], { cwd: repo, env });
  }
  const tree = execFileSync('git', ['write-tree'], { cwd: repo, env, encoding: 'utf8' }).trim();
  return execFileSync('git', ['commit-tree', tree, '-p', parent, '-m', message], { cwd: repo, env, encoding: 'utf8' }).trim();
}

/** Branch i's own file: one of the repository's, spread over its folders (makeRepo puts file n in src/m<n/100>). */
const ownFile = (i: number): string => `src/m${Math.floor((i * 61) / 100)}/f${i * 61}.ts`;
// t0/t1 and t2/t3 change the same shared line; t4 changes the line main changes below.
const sharedEdits: Record<number, Record<number, string>> = {
  0: { 2: 'export const line2 = "t0";' },
  1: { 2: 'export const line2 = "t1";' },
  2: { 20: 'export const line20 = "t2";' },
  3: { 20: 'export const line20 = "t3";' },
  4: { 35: 'export const line35 = "t4";' },
};
const commits: string[] = [];
for (let i = 0; i < BRANCHES; i += 1) {
  const files: Record<string, string> = { [ownFile(i)]: `export const value${i} = "t${i}";\n` };
  const edits = sharedEdits[i];
  if (edits !== undefined) files['src/shared.ts'] = sharedText(edits);
  const commit = commitFiles(base, files, `t${i}`);
  git('update-ref', `refs/heads/coord/t${i}`, commit);
  commits.push(commit);
}
git('update-ref', 'refs/heads/main', commitFiles(base, { 'src/shared.ts': sharedText({ 35: 'export const line35 = "main";' }) }, 'main moves'));
git('reset', '--quiet', '--hard', 'main');

const branchesAt = (list: readonly string[]): LiveBranch[] => list.map((commit, i) => ({ taskId: `t${i}`, commit, worktree: null }));
const newWatcher = () => new ConflictWatcher({ repoRoot: repo, scratchDir: path.join(scratch.dir, 'scratch'), target: 'main', now: Date.now });

async function time<T>(body: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await body();
  return { ms: performance.now() - started, value };
}

// ── one pair: coord's merge against raw git merge-tree, interleaved ───────────
const pairWatch: number[] = [];
const pairRaw: number[] = [];
const [p0, p1] = [commits[0] as string, commits[1] as string];
for (let i = 0; i < 5; i += 1) await mergeConflictFiles(repo, p0, p1);
for (let i = 0; i < PAIR_SAMPLES; i += 1) {
  pairWatch.push((await time(() => mergeConflictFiles(repo, p0, p1))).ms);
  pairRaw.push((await time(() => run('git', ['merge-tree', '--write-tree', '--name-only', p0, p1], { cwd: repo }).catch((error: { code?: number }) => {
    if (error.code !== 1) throw error;
  }))).ms);
}
const conflictedPair = await mergeConflictFiles(repo, p0, p1);
if (conflictedPair.join() !== 'src/shared.ts') throw new Error(`expected t0 and t1 to conflict in src/shared.ts, got ${conflictedPair.join()}`);

// ── a first check of every branch ──────────────────────────────────────────────
const full: number[] = [];
let fullPairs = 0;
let fullConflicts = 0;
for (let i = 0; i < FULL_CHECKS; i += 1) {
  const watcher = newWatcher();
  const { ms, value } = await time(() => watcher.check(branchesAt(commits)));
  full.push(ms);
  fullPairs = value.pairsComputed;
  fullConflicts = value.current.length;
}
if (fullPairs !== 528 || fullConflicts !== 3) throw new Error(`first check: ${fullPairs} pairs, ${fullConflicts} conflicts (expected 528 and 3)`);

// ── incremental checks: one branch moves each time; and nothing moves ─────────
const watcher = newWatcher();
await watcher.check(branchesAt(commits));
const incremental: number[] = [];
let incrementalPairs = 0;
const current = [...commits];
for (let i = 0; i < INCREMENTAL_CHECKS; i += 1) {
  const moved = 8 + i;
  current[moved] = commitFiles(current[moved] as string, { [ownFile(moved)]: `export const value${moved} = "again ${i}";\n` }, `t${moved} again`);
  const { ms, value } = await time(() => watcher.check(branchesAt(current)));
  incremental.push(ms);
  incrementalPairs = value.pairsComputed;
}
if (incrementalPairs !== 32) throw new Error(`incremental check merged ${incrementalPairs} pairs (expected 31 + 1)`);
const unchanged: number[] = [];
for (let i = 0; i < INCREMENTAL_CHECKS; i += 1) {
  const { ms, value } = await time(() => watcher.check(branchesAt(current)));
  if (value.pairsComputed !== 0) throw new Error('an unchanged check merged pairs');
  unchanged.push(ms);
}

// ── a snapshot of a worktree with uncommitted changes ─────────────────────────
const worktree = path.join(scratch.worktreeRoot, 't5');
git('worktree', 'add', '--quiet', worktree, `coord/t5`);
for (let i = 0; i < 5; i += 1) appendFileSync(path.join(worktree, `src/m${10 + i}/f${1_000 + i * 100}.ts`), `// edited ${i}\n`);
mkdirSync(path.join(worktree, 'src/new'), { recursive: true });
writeFileSync(path.join(worktree, 'src/new/untracked.ts'), 'export {};\n');
const head = commits[5] as string;
const steadyIndex = path.join(scratch.dir, 'scratch', 'steady.index');
await snapshotWorktree(worktree, head, steadyIndex);
const steady: number[] = [];
const fresh: number[] = [];
const status: number[] = [];
for (let i = 0; i < SNAPSHOTS; i += 1) {
  steady.push((await time(() => snapshotWorktree(worktree, head, steadyIndex))).ms);
  const freshIndex = path.join(scratch.dir, 'scratch', `fresh-${i}.index`);
  fresh.push((await time(() => snapshotWorktree(worktree, head, freshIndex))).ms);
  rmSync(freshIndex, { force: true });
  status.push((await time(() => run('git', ['status', '--porcelain'], { cwd: worktree }))).ms);
}

// ── a check with 4 of the branches running in worktrees (uncommitted edits), nothing else moving ──
const RUNNING = [6, 7, 8, 9];
for (const i of RUNNING) {
  git('worktree', 'add', '--quiet', path.join(scratch.worktreeRoot, `t${i}`), `coord/t${i}`);
  appendFileSync(path.join(scratch.worktreeRoot, `t${i}`, ownFile(i)), '// uncommitted\n');
}
const withRunning = (): LiveBranch[] => commits.map((commit, i) => ({ taskId: `t${i}`, commit, worktree: RUNNING.includes(i) ? path.join(scratch.worktreeRoot, `t${i}`) : null }));
const runningWatcher = newWatcher();
await runningWatcher.check(branchesAt(commits));
const firstRunning = await time(() => runningWatcher.check(withRunning()));
const steadyRunning: number[] = [];
for (let i = 0; i < INCREMENTAL_CHECKS; i += 1) {
  const { ms, value } = await time(() => runningWatcher.check(withRunning()));
  if (value.pairsComputed !== 0 || value.snapshotsTaken !== RUNNING.length) throw new Error('a steady check with worktrees merged pairs');
  steadyRunning.push(ms);
}
const sr = summarize(steadyRunning);

// ── report ─────────────────────────────────────────────────────────────────────
const pw = summarize(pairWatch);
const pr = summarize(pairRaw);
const f = summarize(full);
const inc = summarize(incremental);
const un = summarize(unchanged);
const st = summarize(steady);
const fr = summarize(fresh);
const ss = summarize(status);
const p95 = (values: number[]): string => fmt(quantile(values, 0.95));

report.text(
  `A repository of ${FILES.toLocaleString('en')} files; ${BRANCHES} branches each with a commit touching its own file, two pairs of them `
    + 'also changing the same line of a shared file, and `main` moved by a commit one branch conflicts with (3 conflicts in all). '
    + `The watcher runs ${os.availableParallelism()} git processes at once (one per CPU).`,
);
report.table('One pair: the watcher\'s merge (through `runGit`) against a raw `git merge-tree --write-tree --name-only`, '
  + `${PAIR_SAMPLES} samples each, interleaved.`, ['merge of one pair', 'median ms', 'p95 ms', 'vs raw'], [
  ['watcher (`mergeConflictFiles`)', fmt(pw.median), p95(pairWatch), ratio(pw.median, pr.median)],
  ['raw `git merge-tree`', fmt(pr.median), p95(pairRaw), '1×'],
]);
report.table('Checks of the 32 branches (each branch is its commit, unless it runs in a worktree).', ['check', 'pairs merged', 'median ms', 'range ms', 'ms per merged pair', 'runs'], [
  ['first check (496 pairs + 32 against `main`)', String(fullPairs), fmt(f.median), `${fmt(f.min)}–${fmt(f.max)}`, fmt(f.median / fullPairs), String(FULL_CHECKS)],
  ['one branch moved (31 + 1 pairs)', String(incrementalPairs), fmt(inc.median), `${fmt(inc.min)}–${fmt(inc.max)}`, fmt(inc.median / incrementalPairs), String(INCREMENTAL_CHECKS)],
  ['nothing moved', '0', fmt(un.median), `${fmt(un.min)}–${fmt(un.max)}`, '–', String(INCREMENTAL_CHECKS)],
  [`${RUNNING.length} branches now running in worktrees with edits (their pairs merged again)`, String(firstRunning.value.pairsComputed), fmt(firstRunning.ms), '–', fmt(firstRunning.ms / firstRunning.value.pairsComputed), '1'],
  [`nothing moved, ${RUNNING.length} worktrees snapshotted`, '0', fmt(sr.median), `${fmt(sr.min)}–${fmt(sr.max)}`, '–', String(INCREMENTAL_CHECKS)],
]);
report.table(`A snapshot of a worktree of the ${FILES.toLocaleString('en')}-file repository with 5 edited files and 1 untracked one, `
  + `${SNAPSHOTS} samples each; the baseline is a raw \`git status --porcelain\` of the same worktree.`, ['snapshot', 'median ms', 'p95 ms', 'vs git status'], [
  ['steady state (temporary index kept)', fmt(st.median), p95(steady), ratio(st.median, ss.median)],
  ['first snapshot (fresh index)', fmt(fr.median), p95(fresh), ratio(fr.median, ss.median)],
  ['raw `git status --porcelain`', fmt(ss.median), p95(status), '1×'],
]);
report.write();
