/**
 * The README's embedding example, extracted from the README and run as written (only its
 * package name and repository path are pointed at this checkout and a real scratch
 * repository), so the two cannot drift apart.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open-store.js';
import { ROOT } from '../helpers/cli.js';
import { makeRepo, type TempRepo } from '../helpers/git-repo.js';

let repo: TempRepo;
afterEach(() => repo?.cleanup());

function readmeExample(): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Embed it'));
  const code = section.match(/```ts\n([\s\S]*?)```/)?.[1];
  if (!code) throw new Error('README.md has no ```ts block under "## Embed it"');
  return code;
}

describe('the README embedding example', () => {
  it('runs as written: a failing lint is dead, its dependent blocked, and the redrive after the drain puts both back', async () => {
    repo = makeRepo({
      'package.json': JSON.stringify({ name: 'app', private: true, scripts: { lint: 'echo lint failed; exit 1', test: 'echo ok' } }),
    });
    const code = readmeExample()
      .replace("from 'coord'", `from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'dist', 'src', 'index.js')).href)}`)
      .replace("repo: '/src/app'", `repo: ${JSON.stringify(repo.repo)}, stateDir: ${JSON.stringify(repo.stateDir)}, worktreeRoot: ${JSON.stringify(repo.worktreeRoot)}`);
    expect(code).not.toContain("'coord'");
    const script = path.join(repo.dir, 'example.mjs');
    writeFileSync(script, code);
    const out = execFileSync(process.execPath, [script], { cwd: repo.dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    expect(out).toContain("[ 'lint: dead', 'test: blocked' ]");
    // The redrive reached the store: both are back in play for the next start.
    const store = await openStore(`sqlite:${path.join(repo.stateDir, 'coord.db')}`);
    try {
      expect((await store.list()).map((task) => `${task.spec.id}: ${task.status}`)).toEqual(['lint: ready', 'test: pending']);
    } finally {
      await store.close();
    }
  });
});
