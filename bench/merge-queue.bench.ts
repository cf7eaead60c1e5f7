/**
 * 15. Merge queue: how many branches a test-gated merge queue lands per minute when the test
 * takes 2 s, tested one at a time (batch 1) or together (batch 4, batch 8), and what one bad
 * branch in eight costs: the test runs bisection spends to find it while the seven good ones
 * still land, against the count the pure planner predicts.
 *
 * Each run gets a fresh repository (one commit, plus the test script) and 8 task branches,
 * each adding its own file; the bad one (the 6th) writes the word the test fails on. The test
 * is a node script that checks the files and then waits 2 s (`setTimeout`), so a run's time is
 * the tests' (runs × 2 s) plus what the queue adds: building candidates in the object
 * database, checking each one out in the merge worktree, and the compare-and-swap of `main`.
 * `main` is checked out nowhere (the user's checkout is on another branch). One repetition per
 * row: the 2 s tests dominate every figure.
 *
 * Run: node --import tsx bench/merge-queue.bench.ts (after `npm run build`)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadDist } from './lib/coord.js';
import { makeRepo, type BenchRepo } from './lib/repo.js';
import { Report } from './lib/report.js';
import { fmt, ratio } from './lib/stats.js';

type Queue = typeof import('../src/merge/merge-queue.js');
type Bisect = typeof import('../src/merge/bisect.js');
type Log = typeof import('../src/log/logger.js');
const { MergeQueue } = await loadDist<Queue>('src/merge/merge-queue.js');
const { bisect } = await loadDist<Bisect>('src/merge/bisect.js');
const { silentLogger } = await loadDist<Log>('src/log/logger.js');

const report = new Report('merge-queue', '15. Merge queue throughput and bisection');
const BRANCHES = 8;
const BAD_INDEX = 5;
const TEST_MS = 2_000;

/** Fails when a file of the checkout holds the marker; passes or fails after TEST_MS either way. */
const SLOW_TEST = `import { readdirSync, readFileSync } from 'node:fs';
const marker = 'BA' + 'D';
const bad = readdirSync('.').filter((name) => name.endsWith('.txt') && readFileSync(name, 'utf8').includes(marker));
setTimeout(() => process.exit(bad.length === 0 ? 0 : 1), ${TEST_MS});
`;

interface Scenario { batch: number; bad: boolean }
interface Row extends Scenario { runs: number; predicted: number; seconds: number; merged: number; failed: number }

/** A repository with the slow test committed and `BRANCHES` task branches; returns their commits. */
function prepare(bad: boolean): { scratch: BenchRepo; commits: string[] } {
  const scratch = makeRepo(1);
  writeFileSync(path.join(scratch.repo, 'slow-test.mjs'), SLOW_TEST);
  scratch.git('add', 'slow-test.mjs');
  scratch.git('commit', '--quiet', '-m', 'slow test');
  const commits = Array.from({ length: BRANCHES }, (_, i) => {
    const wt = mkdtempSync(path.join(scratch.dir, `branch-${i}-`));
    scratch.git('worktree', 'add', '--quiet', '-b', `task-${i}`, wt, 'main');
    writeFileSync(path.join(wt, `task-${i}.txt`), bad && i === BAD_INDEX ? 'BAD\n' : `task ${i}\n`);
    execFileSync('git', ['add', '-A'], { cwd: wt });
    execFileSync('git', ['commit', '--quiet', '-m', `task ${i}`], { cwd: wt });
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: wt, encoding: 'utf8' }).trim();
    scratch.git('worktree', 'remove', '--force', wt);
    return commit;
  });
  scratch.git('checkout', '--quiet', '-b', 'user-work');
  return { scratch, commits };
}

/** The runs the pure planner predicts: batches of `batch` in order, each bisected. */
function predictedRuns({ batch, bad }: Scenario): number {
  const ids = Array.from({ length: BRANCHES }, (_, i) => i);
  let runs = 0;
  for (let start = 0; start < ids.length; start += batch) {
    runs += bisect(ids.slice(start, start + batch), (group) => !(bad && group.includes(BAD_INDEX))).runs;
  }
  return runs;
}

async function measure(scenario: Scenario): Promise<Row> {
  const { scratch, commits } = prepare(scenario.bad);
  const dir = path.join(scratch.dir, 'merge');
  const queue = new MergeQueue({
    repoRoot: scratch.repo,
    dir,
    settings: { target: 'main', test: [process.execPath, 'slow-test.mjs'], batch: scenario.batch, mode: 'merge' },
    logger: silentLogger(),
    now: Date.now,
    onChange: () => {},
  });
  const started = performance.now();
  commits.forEach((commit, i) => queue.enqueue({ taskId: `task-${i}`, branch: `task-${i}`, commit, deps: [] }));
  await queue.whenIdle();
  const seconds = (performance.now() - started) / 1000;
  await queue.close();
  const statuses = commits.map((_, i) => queue.state(`task-${i}`)?.status);
  const row: Row = {
    ...scenario,
    runs: readdirSync(path.join(dir, 'logs')).length,
    predicted: predictedRuns(scenario),
    seconds,
    merged: statuses.filter((s) => s === 'merged').length,
    failed: statuses.filter((s) => s === 'test-failed').length,
  };
  scratch.cleanup();
  process.stdout.write(`batch ${row.batch}${row.bad ? ', one bad' : ''}: ${row.runs} runs, ${fmt(row.seconds)} s, ${row.merged} merged, ${row.failed} failed\n`);
  return row;
}

const scenarios: Scenario[] = [
  { batch: 1, bad: false }, { batch: 4, bad: false }, { batch: 8, bad: false },
  { batch: 1, bad: true }, { batch: 4, bad: true }, { batch: 8, bad: true },
];
const rows: Row[] = [];
for (const scenario of scenarios) rows.push(await measure(scenario));

report.text(`${BRANCHES} task branches, each adding its own file; a test that takes ${TEST_MS / 1000} s; \`main\` advanced by compare-and-swap. `
  + `"One bad": the ${BAD_INDEX + 1}th branch fails the test. The floor is the test time alone (runs × ${TEST_MS / 1000} s); `
  + 'the queue\'s own cost per run is the rest, divided by the runs (it includes starting node for each test).');
report.table(null, ['batch', 'bad branches', 'test runs (planner predicts)', 'wall s', 'merged', 'test-failed', 'branches merged / min', 'wall ÷ test time', 'queue cost per run ms'], rows.map((r) => [
  String(r.batch),
  r.bad ? '1 of 8' : '0',
  `${r.runs} (${r.predicted})`,
  fmt(r.seconds),
  String(r.merged),
  String(r.failed),
  fmt((r.merged / r.seconds) * 60),
  ratio(r.seconds, (r.runs * TEST_MS) / 1000),
  fmt(((r.seconds - (r.runs * TEST_MS) / 1000) * 1000) / r.runs),
]));
report.write();
