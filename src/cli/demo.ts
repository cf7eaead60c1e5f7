/**
 * `--demo`: a scratch repository in a temporary folder and a small task graph run by the
 * fake agent coord ships (test/fixtures/fake-agent.mjs), so a newcomer sees coord work
 * without an agent CLI, an account or a repository of their own.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runGit } from '../git/run-git.js';
import { packageRoot } from '../package-root.js';
import type { TaskSpecInput } from '../tasks/spec.js';

/** A scratch repository: `repo` inside `dir`, which also holds its worktrees (remove `dir` to remove it all). */
export interface DemoRepo {
  dir: string;
  repo: string;
}

/** Creates a git repository with one commit in a new temporary folder. */
export async function createDemoRepo(): Promise<DemoRepo> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'coord-demo-'));
  const repo = path.join(dir, 'app');
  await runGit(['init', '--quiet', '--initial-branch=main', repo], { cwd: dir });
  await runGit(['config', 'user.name', 'coord demo'], { cwd: repo });
  await runGit(['config', 'user.email', 'demo@coord.invalid'], { cwd: repo });
  await writeFile(path.join(repo, 'README.md'), '# demo app\n\nA scratch repository made by `coord --demo`.\n');
  await writeFile(path.join(repo, 'app.txt'), 'version 1\n');
  await runGit(['add', '-A'], { cwd: repo });
  await runGit(['commit', '--quiet', '-m', 'initial commit'], { cwd: repo });
  return { dir, repo };
}

/** The demo graph: plan → (api, ui, docs) → tests → release, plus a module task. */
export function demoTasks(): TaskSpecInput[] {
  const agent = path.join(packageRoot(), 'test', 'fixtures', 'fake-agent.mjs');
  const fake = (...args: string[]): string[] => [process.execPath, agent, ...args];
  return [
    { id: 'plan', priority: 10, run: fake('--write', 'PLAN.md', '--text', 'api, ui, docs, tests', '--commit', 'plan the work', '--sleep', '300') },
    { id: 'api', deps: ['plan'], run: fake('--write', 'api.txt', '--text', 'GET /health', '--commit', 'add the api', '--sleep', '900') },
    { id: 'ui', deps: ['plan'], run: fake('--write', 'ui.txt', '--text', '<App/>', '--commit', 'add the ui', '--sleep', '1200') },
    { id: 'docs', deps: ['plan'], priority: -1, run: fake('--append', 'README.md', '--text', 'Usage: see api.txt', '--sleep', '600') },
    { id: 'tests', deps: ['api', 'ui'], run: fake('--write', 'tests.txt', '--text', 'health ok', '--commit', 'test api and ui', '--sleep', '700') },
    { id: 'stats', deps: ['tests'], module: path.join(packageRoot(), 'test', 'fixtures', 'demo-stats.mjs'), input: { label: 'worktree stats' } },
    { id: 'release', deps: ['tests', 'docs'], run: fake('--write', 'CHANGELOG.md', '--text', 'v2: api, ui, docs', '--commit', 'release v2', '--sleep', '300') },
  ];
}
