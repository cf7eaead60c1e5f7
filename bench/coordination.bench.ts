/**
 * 16. Coordination: what the shared rate limiter's decisions cost, and what locality
 * assignment saves on a chain-heavy graph.
 *
 * Limiter: the policy the supervisor runs for every start under a limited key (a sliding-window
 * log of starts and tokens, AIMD concurrency, cooldowns), asked and released in a loop over 4
 * keys; the baseline, in the same process, is the simplest limiter there is — a refilling token
 * bucket of a few arithmetic operations — which lets twice its limit through around a window
 * boundary (the reason coord keeps the log).
 *
 * Locality: 2 chains of 10 command tasks on 4 workers (fewer chains than workers, so a
 * dependent that becomes ready finds other workers idle beside its dependency's), each task appending to its chain's file
 * in a repository of 2,000 files, so each step starts from its dependency's commit. The same
 * graph runs with `assignment: round-robin` and `locality`, alternating, in the same run; the
 * wall time from submission to settled is compared, with how many steps ran on the worker
 * that ran their dependency.
 *
 * Run: npm run bench -- coordination
 */
import { performance } from 'node:perf_hooks';
import type { RateLimiter as RateLimiterClass } from '../src/coordination/rate-limiter.js';
import { loadCoord, loadDist } from './lib/coord.js';
import { makeRepo } from './lib/repo.js';
import { Report } from './lib/report.js';
import { fmt, ratio, summarize } from './lib/stats.js';

const { RateLimiter } = await loadDist<{ RateLimiter: typeof RateLimiterClass }>('src/coordination/rate-limiter.js');
const { createSupervisor } = await loadCoord();
const report = new Report('coordination', '16. Coordination: rate-limiter decisions, locality assignment');

// ── the limiter ─────────────────────────────────────────────────────────────
const DECISIONS = 400_000;
const KEYS = ['anthropic', 'openai', 'google', 'local'];

function limiterRun(): number {
  const limiter = new RateLimiter(Object.fromEntries(KEYS.map((key) => [key, { requestsPerMinute: 600, tokensPerMinute: 2_000_000, maxConcurrent: 8 }])));
  let granted = 0;
  const started = performance.now();
  for (let i = 0; i < DECISIONS; i += 1) {
    const now = i * 5; // 200 asks per simulated second
    const key = KEYS[i % KEYS.length] as string;
    const holder = `t${i}`;
    if (limiter.request(key, holder, now).granted) {
      granted += 1;
      limiter.consume(key, 1_500, now);
      limiter.release(holder);
    }
    if (i % 10_000 === 0) limiter.signal(key, now + 2_000, now);
  }
  if (granted === 0) throw new Error('the limiter granted nothing');
  return performance.now() - started;
}

function bucketRun(): number {
  const buckets = KEYS.map(() => ({ tokens: 600, at: 0 }));
  let granted = 0;
  const started = performance.now();
  for (let i = 0; i < DECISIONS; i += 1) {
    const now = i * 5;
    const bucket = buckets[i % KEYS.length] as { tokens: number; at: number };
    bucket.tokens = Math.min(600, bucket.tokens + ((now - bucket.at) * 600) / 60_000);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      granted += 1;
    }
  }
  if (granted === 0) throw new Error('the bucket granted nothing');
  return performance.now() - started;
}

const limiterMs: number[] = [];
const bucketMs: number[] = [];
for (let round = 0; round < 5; round += 1) {
  limiterMs.push(limiterRun());
  bucketMs.push(bucketRun());
}
const limiter = summarize(limiterMs);
const bucket = summarize(bucketMs);

// ── locality against round robin ───────────────────────────────────────────
const CHAINS = 2;
const STEPS = 10;
const ROUNDS = 3;

async function graphRun(assignment: 'round-robin' | 'locality'): Promise<{ ms: number; local: number }> {
  const scratch = makeRepo(2_000);
  try {
    const supervisor = createSupervisor({
      repo: scratch.repo, stateDir: scratch.stateDir, worktreeRoot: scratch.worktreeRoot, workers: 4, assignment, logLevel: 'silent', conflictCheckMs: null,
    });
    await supervisor.start();
    // Forked and ready before the clock starts: the graph is what is measured.
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (supervisor.status().workers.filter((w) => w.state === 'idle').length === 4) resolve();
        else setTimeout(check, 20);
      };
      check();
    });
    const ranOn = new Map<string, string>();
    supervisor.events.on('coord:assigned', (e) => ranOn.set(e.taskId, e.workerId));
    const tasks = [];
    for (let c = 0; c < CHAINS; c += 1) {
      for (let s = 0; s < STEPS; s += 1) {
        tasks.push({ id: `c${c}-s${s}`, run: ['sh', '-c', `echo ${s} >> chain-${c}.txt`], deps: s === 0 ? [] : [`c${c}-s${s - 1}`] });
      }
    }
    const started = performance.now();
    await supervisor.submit(tasks);
    await supervisor.settled();
    const ms = performance.now() - started;
    const summary = await supervisor.summary();
    if (!summary.tasks.every((t) => t.status === 'complete')) throw new Error(`${assignment}: not every task completed`);
    await supervisor.drain();
    let local = 0;
    for (const task of tasks) if (task.deps[0] !== undefined && ranOn.get(task.id) === ranOn.get(task.deps[0])) local += 1;
    return { ms, local };
  } finally {
    scratch.cleanup();
  }
}

const runs: Record<string, Array<{ ms: number; local: number }>> = { 'round-robin': [], locality: [] };
for (let round = 0; round < ROUNDS; round += 1) {
  for (const assignment of ['round-robin', 'locality'] as const) runs[assignment]?.push(await graphRun(assignment));
}
const steps = CHAINS * (STEPS - 1);
const rr = summarize((runs['round-robin'] ?? []).map((r) => r.ms));
const loc = summarize((runs['locality'] ?? []).map((r) => r.ms));
const localShare = (list: Array<{ local: number }>): string => `${fmt((100 * list.reduce((sum, r) => sum + r.local, 0)) / (list.length * steps), 0)} %`;

report.text(`Limiter: ${DECISIONS.toLocaleString('en')} asks over ${KEYS.length} keys (600 starts and 2 M tokens per minute, 8 at once), each granted start released at once, a provider signal every 10,000 asks; medians of 5 rounds, alternating with the baseline.`);
report.table(null, ['limiter', 'ms per round', 'decisions / s', 'µs per decision', 'vs the token bucket'], [
  ['coord (window log, tokens, AIMD, cooldown)', fmt(limiter.median, 1), fmt(DECISIONS / (limiter.median / 1000), 0), fmt((limiter.median * 1000) / DECISIONS, 3), ratio(limiter.median, bucket.median)],
  ['baseline: refilling token bucket', fmt(bucket.median, 1), fmt(DECISIONS / (bucket.median / 1000), 0), fmt((bucket.median * 1000) / DECISIONS, 3), '1.00×'],
]);
report.text(`Locality: ${CHAINS} chains × ${STEPS} command tasks on 4 workers, repository of 2,000 files, from submission to settled; medians of ${ROUNDS} runs each, alternating.`);
report.table(null, ['assignment', 'graph ms (median)', 'range', 'steps on their dependency\'s worker', 'vs round robin'], [
  ['round-robin', fmt(rr.median, 0), `${fmt(rr.min, 0)}–${fmt(rr.max, 0)}`, localShare(runs['round-robin'] ?? []), '1.00×'],
  ['locality', fmt(loc.median, 0), `${fmt(loc.min, 0)}–${fmt(loc.max, 0)}`, localShare(runs['locality'] ?? []), ratio(loc.median, rr.median)],
]);
report.write();
