/**
 * 12. Agent overhead: what coord adds to one run of a real coding-agent CLI.
 *
 * The real Claude Code binary (the dev dependency) talks to the local Messages API emulator
 * (test/fixtures/anthropic-emulator.ts), so the model answers in no time and what is left is
 * the CLI's own start-up and tool loop, plus whatever coord puts around it. Two scripts:
 *
 * - `text`: one answer, `Hello.`
 * - `bash`: a Bash tool call that writes a file and commits it, then a text answer.
 *
 * Each is run three ways, interleaved round by round so they share the machine's noise:
 *
 * - bare: `claude -p --output-format stream-json --verbose --allowedTools Bash -- <prompt>`
 *   spawned directly (pipes) in a scratch git repository, spawn → exit;
 * - bare in a PTY: the same through node-pty, as coord runs it, spawn → exit;
 * - coord: one supervisor (one worker, started once, not timed) with a `claude` profile of
 *   the same binary, flags and environment; one `{ id, agent: 'claude', prompt }` task at a
 *   time, submit() → `coord:complete`, split by the task's events.
 *
 * What coord's own work costs is measured apart, with the same code the worker runs: its git
 * around an attempt (`Workspace.prepare` and `Workspace.finish` from the build, on a worktree
 * of a scratch repository, after the same change the agent makes) and its parsing of the
 * output (the build's `claude-stream-json` parser fed the lines the bare runs printed).
 *
 * Run: npm run bench -- agent-overhead
 */
import { execFileSync, spawn as spawnChild } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { spawn as spawnPty } from 'node-pty';
import { createAnthropicEmulator, type Emulator, type Turn } from '../test/fixtures/anthropic-emulator.js';
import { claudeBinary } from '../test/helpers/claude-cli.js';
import type { Supervisor } from '../src/index.js';
import { loadCoord, loadDist } from './lib/coord.js';
import { makeRepo } from './lib/repo.js';
import { Report } from './lib/report.js';
import { fmt, range, ratio, summarize, type Summary } from './lib/stats.js';

type WorkspaceModule = typeof import('../workers/workspace.js');
type ParsersModule = typeof import('../src/agents/parsers/index.js');

const SAMPLES = 10;
const WARM_UP = 1;
const ROUNDS = WARM_UP + SAMPLES;
const RUN_TIMEOUT_MS = 120_000;

const COMMIT_COMMAND = 'echo hi > hi.txt && git add hi.txt && git commit -qm "Add hi"';

interface Script {
  name: 'text' | 'bash';
  label: string;
  prompt: string;
  /** Main-conversation turns one run takes. */
  turns: Turn[];
  /** The result text the run must end with. */
  result: string;
}

const SCRIPTS: Script[] = [
  { name: 'text', label: 'text answer', prompt: 'Say hello.', turns: [{ text: 'Hello.' }], result: 'Hello.' },
  {
    name: 'bash',
    label: 'Bash tool call (write + commit), then text',
    prompt: 'Create hi.txt and commit it.',
    turns: [{ toolUse: { name: 'Bash', input: { command: COMMIT_COMMAND, description: 'Commit hi.txt' } } }, { text: 'Committed hi.txt.' }],
    result: 'Committed hi.txt.',
  },
];

const coord = await loadCoord();
const { Workspace } = await loadDist<WorkspaceModule>('workers/workspace.js');
const { createParser } = await loadDist<ParsersModule>('src/agents/parsers/index.js');
const report = new Report('agent-overhead', '12. Agent overhead');
const binary = claudeBinary();
const scratch = makeRepo(1);
const home = path.join(scratch.dir, 'home');
const tmp = path.join(scratch.dir, 'tmp');
mkdirSync(home);
mkdirSync(tmp);

// One emulator for every run, its script the turns of every run in the order they are made:
// the runs are strictly one at a time, and each checks it took exactly its own turns.
const api: Emulator = await createAnthropicEmulator({
  script: Array.from({ length: ROUNDS }, () => SCRIPTS.flatMap((script) => [script.turns, script.turns, script.turns].flat())).flat(),
});
const agentEnv: Record<string, string> = {
  ANTHROPIC_BASE_URL: api.url,
  ANTHROPIC_API_KEY: 'sk-ant-emulated',
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  HOME: home,
  TMPDIR: tmp,
};
const argv = (prompt: string): string[] => ['-p', '--output-format', 'stream-json', '--verbose', '--allowedTools', 'Bash', '--', prompt];
/** The worker's environment (coord's own, inherited) plus the profile's: the bare runs get the same. */
const bareEnv: Record<string, string> = {};
for (const [key, value] of Object.entries(process.env)) if (value !== undefined) bareEnv[key] = value;
Object.assign(bareEnv, agentEnv);

/** Checks a run took exactly its script's turns and ended with its result; resets the scratch repo. */
function verify(script: Script, what: string, mainBefore: number, output: string): void {
  const taken = api.mainRequests().length - mainBefore;
  if (taken !== script.turns.length) throw new Error(`${what} (${script.name}) took ${taken} turns, expected ${script.turns.length}`);
  if (!output.includes(`"result":${JSON.stringify(script.result)}`)) throw new Error(`${what} (${script.name}) did not end with its result:\n${output.slice(-2_000)}`);
}

/** The bare repo back at its initial commit between runs (not timed). */
const initial = scratch.git('rev-parse', 'HEAD');
function resetBare(script: Script): void {
  if (script.name === 'bash') {
    if (scratch.git('log', '--format=%s', '-1') !== 'Add hi') throw new Error('the bare bash run did not commit');
    scratch.git('reset', '--quiet', '--hard', initial);
  }
}

// ── bare CLI ─────────────────────────────────────────────────────────────────

interface BareRun {
  ms: number;
  output: string;
}

function withTimeout<T>(promise: Promise<T>, what: string, kill: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      kill();
      reject(new Error(`${what} did not finish in ${RUN_TIMEOUT_MS} ms`));
    }, RUN_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function bareSpawn(script: Script): Promise<BareRun> {
  const before = api.mainRequests().length;
  const t0 = performance.now();
  const child = spawnChild(binary, argv(script.prompt), { cwd: scratch.repo, env: bareEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', () => undefined);
  const exited = new Promise<number>((resolve) => child.once('exit', () => resolve(performance.now() - t0)));
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const ms = await withTimeout(exited, 'bare claude', () => child.kill('SIGKILL'));
  await closed;
  verify(script, 'bare claude', before, output);
  resetBare(script);
  return { ms, output };
}

async function barePty(script: Script): Promise<BareRun> {
  const before = api.mainRequests().length;
  const t0 = performance.now();
  const pty = spawnPty(binary, argv(script.prompt), { name: 'xterm-256color', cols: 160, rows: 48, cwd: scratch.repo, env: bareEnv });
  let output = '';
  pty.onData((data) => (output += data));
  const exited = new Promise<number>((resolve) => pty.onExit(() => resolve(performance.now() - t0)));
  const ms = await withTimeout(exited, 'claude in a PTY', () => pty.kill('SIGKILL'));
  verify(script, 'claude in a PTY', before, output.replaceAll('\r\n', '\n'));
  resetBare(script);
  return { ms, output };
}

// ── coord ────────────────────────────────────────────────────────────────────

const supervisor: Supervisor = coord.createSupervisor({
  repo: scratch.repo, workers: 1, worktreeRoot: scratch.worktreeRoot, stateDir: scratch.stateDir,
  agents: { claude: { command: binary, args: ['--allowedTools', 'Bash'], env: agentEnv } },
});

interface CoordRun {
  assigned: number;
  started: number;
  complete: number;
  /** The agent's run inside the worker, PTY spawn → exit (the task log's `ended:` line). */
  agentMs: number;
}

async function coordTask(script: Script, id: string): Promise<CoordRun> {
  const before = api.mainRequests().length;
  const times: Partial<Record<'assigned' | 'started', number>> = {};
  let t0 = 0;
  const onAssigned = (e: { taskId: string }): void => {
    if (e.taskId === id) times.assigned = performance.now() - t0;
  };
  const onStarted = (e: { taskId: string }): void => {
    if (e.taskId === id) times.started = performance.now() - t0;
  };
  let cleanup = (): void => undefined;
  const complete = new Promise<{ ms: number; result: unknown; commit: string | null }>((resolve, reject) => {
    const onComplete = (e: { taskId: string; result: unknown; commit: string | null }): void => {
      if (e.taskId === id) resolve({ ms: performance.now() - t0, result: e.result, commit: e.commit });
    };
    const onFailed = (e: { taskId: string; error: { code: string; message: string } }): void => {
      if (e.taskId === id) reject(new Error(`task ${id} failed: ${e.error.code} ${e.error.message}`));
    };
    supervisor.events.on('coord:complete', onComplete);
    supervisor.events.on('coord:failed', onFailed);
    cleanup = () => {
      supervisor.events.off('coord:complete', onComplete);
      supervisor.events.off('coord:failed', onFailed);
      supervisor.events.off('coord:assigned', onAssigned);
      supervisor.events.off('coord:started', onStarted);
    };
  });
  supervisor.events.on('coord:assigned', onAssigned);
  supervisor.events.on('coord:started', onStarted);
  try {
    t0 = performance.now();
    await supervisor.submit([{ id, agent: 'claude', prompt: script.prompt }]);
    const done = await withTimeout(complete, `coord task ${id}`, () => undefined);
    const taken = api.mainRequests().length - before;
    if (taken !== script.turns.length) throw new Error(`coord task ${id} took ${taken} turns, expected ${script.turns.length}`);
    if (done.result !== script.result) throw new Error(`coord task ${id} ended with ${JSON.stringify(done.result)}`);
    if (script.name === 'bash' && scratch.git('log', '--format=%s', '-1', `coord/${id}`) !== 'Add hi') throw new Error(`coord task ${id}: no commit on coord/${id}`);
    const logFile = (await supervisor.summary({ ids: [id] })).tasks[0]?.logFile ?? null;
    const ended = logFile === null ? null : /\[coord\] ended: .*durationMs=(\d+)/.exec(readFileSync(logFile, 'utf8'));
    return { assigned: times.assigned ?? Number.NaN, started: times.started ?? Number.NaN, complete: done.ms, agentMs: ended ? Number(ended[1]) : Number.NaN };
  } finally {
    cleanup();
  }
}

// ── the runs ─────────────────────────────────────────────────────────────────

const samples = new Map<Script['name'], { bare: number[]; pty: number[]; coord: CoordRun[]; outputs: string[] }>();
for (const script of SCRIPTS) samples.set(script.name, { bare: [], pty: [], coord: [], outputs: [] });

try {
  await supervisor.start();
  await new Promise<void>((resolve) => {
    if (supervisor.status().workers.every((w) => w.state === 'idle')) resolve();
    else supervisor.events.once('coord:worker-ready', () => resolve());
  });
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const script of SCRIPTS) {
      const into = samples.get(script.name)!;
      // Rotate the order within a round, so no variant always runs first (or right after another).
      const variants: Array<() => Promise<void>> = [
        async () => {
          const run = await bareSpawn(script);
          if (round >= WARM_UP) {
            into.bare.push(run.ms);
            into.outputs.push(run.output);
          }
        },
        async () => {
          const run = await barePty(script);
          if (round >= WARM_UP) into.pty.push(run.ms);
        },
        async () => {
          const run = await coordTask(script, `${script.name}-${round}`);
          if (round >= WARM_UP) into.coord.push(run);
        },
      ];
      for (let k = 0; k < variants.length; k += 1) await variants[(round + k) % variants.length]!();
    }
    process.stdout.write(`round ${round + 1}/${ROUNDS}${round < WARM_UP ? ' (warm-up)' : ''} done\n`);
  }
} finally {
  await supervisor.stop();
  await api.close();
}

// ── coord's own work, measured apart ─────────────────────────────────────────

/** Workspace.prepare + Workspace.finish (the build's), around the change each script makes. */
async function gitAround(script: Script): Promise<{ prepare: number[]; finish: number[] }> {
  const worktree = path.join(scratch.dir, `git-${script.name}`);
  scratch.git('worktree', 'add', '--quiet', '--detach', worktree, initial);
  const workspace = new Workspace(worktree, scratch.repo);
  const out = { prepare: [] as number[], finish: [] as number[] };
  for (let i = 0; i < ROUNDS; i += 1) {
    const branch = `git-${script.name}-${i}`;
    const t0 = performance.now();
    await workspace.prepare(`coord/${branch}`, initial);
    const t1 = performance.now();
    if (script.name === 'bash') {
      // What the agent's Bash call does, not timed.
      execFileSync('sh', ['-c', COMMIT_COMMAND], { cwd: worktree });
    }
    const t2 = performance.now();
    await workspace.finish(`coord/${branch}`, branch, 1);
    const t3 = performance.now();
    if (i < WARM_UP) continue;
    out.prepare.push(t1 - t0);
    out.finish.push(t3 - t2);
  }
  return out;
}

/** The build's claude-stream-json parser over one run's output, line by line as the worker feeds it. */
function parseMs(output: string): number {
  const lines = output.split('\n');
  const t0 = performance.now();
  const parser = createParser('claude-stream-json');
  for (const line of lines) parser.push(line, Date.now());
  if (parser.facts().result === null) throw new Error('the parser found no result in a bare run\'s output');
  return performance.now() - t0;
}

const own = new Map<Script['name'], { prepare: Summary; finish: Summary; parse: Summary; lines: number }>();
try {
  for (const script of SCRIPTS) {
    const git = await gitAround(script);
    const outputs = samples.get(script.name)!.outputs;
    const parse = summarize(outputs.map(parseMs));
    own.set(script.name, { prepare: summarize(git.prepare), finish: summarize(git.finish), parse, lines: outputs[0]!.split('\n').filter(Boolean).length });
  }
} finally {
  scratch.cleanup();
}

// ── the report ───────────────────────────────────────────────────────────────

const cells = (s: Summary): string[] => [fmt(s.median), range(s)];
report.text(
  `The real Claude Code CLI (\`@anthropic-ai/claude-code\`, native binary) against the local Messages API emulator, so the `
  + `"model" answers at once and the time is the CLI's own plus coord's. ${SAMPLES} runs of each variant per script (after `
  + `${WARM_UP} warm-up round), bare, bare-in-a-PTY and coord interleaved round by round, their order rotated. Bare: the `
  + 'binary spawned directly with coord\'s argv and environment (`claude -p --output-format stream-json --verbose '
  + '--allowedTools Bash -- <prompt>`, scratch HOME and TMPDIR), spawn → exit. coord: one started supervisor, one worker, '
  + 'one `{ id, agent: \'claude\', prompt }` task at a time, submit() → `coord:complete`. "− bare" and "÷ bare" '
  + 'compare the medians; "paired" is the median over rounds of each run less the bare run of the same round. The CLI\'s '
  + 'own run time varies by a second or more from run to run on this machine, which swamps the differences between the '
  + 'variants: the second table, from each task\'s events and its log, is the sharper measure of what coord adds.',
);
const mainRows: string[][] = [];
/** Per round, this variant's run less the bare run of the same round: the pairs share the machine's state. */
const paired = (values: readonly number[], bare: readonly number[]): Summary => summarize(values.map((v, i) => v - (bare[i] as number)));
for (const script of SCRIPTS) {
  const s = samples.get(script.name)!;
  const bare = summarize(s.bare);
  const pty = summarize(s.pty);
  const coordMs = s.coord.map((c) => c.complete);
  const coordE2e = summarize(coordMs);
  const versus = (x: Summary, values: readonly number[]): string[] => {
    const diff = paired(values, s.bare);
    return [fmt(x.median - bare.median), `${fmt(diff.median)} (${range(diff)})`, ratio(x.median, bare.median)];
  };
  mainRows.push(
    [`${script.label}: bare \`claude\` (pipes)`, ...cells(bare), '', '', ''],
    [`${script.label}: bare \`claude\` in a node-pty PTY`, ...cells(pty), ...versus(pty, s.pty)],
    [`${script.label}: coord, submit → coord:complete`, ...cells(coordE2e), ...versus(coordE2e, coordMs)],
  );
}
report.table(null, ['run', 'ms (median)', 'min–max', '− bare (ms, medians)', '− bare, paired by round (median, min–max)', '÷ bare'], mainRows);

const phaseRows: string[][] = [];
for (const script of SCRIPTS) {
  const runs = samples.get(script.name)!.coord;
  const phase = (f: (c: CoordRun) => number): Summary => summarize(runs.map(f));
  phaseRows.push(
    [`${script.label}: submit → coord:assigned`, ...cells(phase((c) => c.assigned))],
    [`${script.label}: coord:assigned → coord:started (IPC, task log, git prepare, PTY spawn)`, ...cells(phase((c) => c.started - c.assigned))],
    [`${script.label}: coord:started → coord:complete (agent runs, git finish, report)`, ...cells(phase((c) => c.complete - c.started))],
    [`${script.label}: of which the agent in coord's PTY (task log \`durationMs\`)`, ...cells(phase((c) => c.agentMs))],
    [`${script.label}: coord's own time (submit → coord:complete less the agent's PTY run)`, ...cells(phase((c) => c.complete - c.agentMs))],
  );
}
report.table('Where coord\'s time goes, from each task\'s events (ms, median and min–max over the same runs):', ['phase', 'ms (median)', 'min–max'], phaseRows);

const ownRows: string[][] = [];
for (const script of SCRIPTS) {
  const o = own.get(script.name)!;
  ownRows.push(
    [`${script.label}: git before the run (\`Workspace.prepare\`)`, ...cells(o.prepare)],
    [`${script.label}: git after the run (\`Workspace.finish\`)`, ...cells(o.finish)],
    [`${script.label}: parsing the run's stream-json (${o.lines} lines)`, fmt(o.parse.median, 3), range(o.parse, 3)],
  );
}
report.table(
  'What coord adds, measured apart with the build\'s own code: its git around an attempt (on a worktree of the same scratch '
  + 'repository, after the change the script makes) against parsing the agent\'s output (the `claude-stream-json` parser over '
  + 'the lines the bare runs printed):',
  ['coord\'s work', 'ms (median)', 'min–max'], ownRows,
);
report.write();
