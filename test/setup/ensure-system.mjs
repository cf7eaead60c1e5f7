#!/usr/bin/env node
/**
 * What the tests need that npm cannot install, set up before they run (`npm test` calls this
 * first): a PostgreSQL server on 127.0.0.1:5432 (the PostgreSQL store's tests; started with
 * the Debian cluster tools when it is installed but down), Debian's Chromium at
 * /usr/bin/chromium (the inspector page's browser tests) and Graphviz's dot (the DOT export's
 * layout test), both installed with apt when running as root. What cannot be set up here fails with what to install.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { stdio: 'inherit', ...opts });
const quiet = (cmd, args) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const problems = [];

// PostgreSQL
if (!quiet('pg_isready', ['-h', '127.0.0.1', '-p', '5432', '-q'])) {
  if (existsSync('/etc/postgresql')) {
    const version = readdirSync('/etc/postgresql')[0];
    if (version) run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start']);
    for (let i = 0; i < 30 && !quiet('pg_isready', ['-h', '127.0.0.1', '-p', '5432', '-q']); i += 1) execFileSync('sleep', ['1']);
  }
  if (!quiet('pg_isready', ['-h', '127.0.0.1', '-p', '5432', '-q'])) {
    problems.push('PostgreSQL is not reachable on 127.0.0.1:5432: install and start it (Debian: apt-get install postgresql; trust auth for 127.0.0.1 and a database "test")');
  }
}

// Chromium, for the inspector page's tests (driven by playwright-core, never downloaded), and
// Graphviz's dot, which checks the machines' DOT export lays out.
const debian = [
  { file: '/usr/bin/chromium', pkg: 'chromium', why: 'the inspector page\'s browser tests' },
  { file: '/usr/bin/dot', pkg: 'graphviz', why: 'the DOT export\'s layout test' },
];
const missing = debian.filter((need) => !existsSync(need.file));
if (missing.length > 0 && isRoot && existsSync('/usr/bin/apt-get')) {
  process.stdout.write(`installing ${missing.map((m) => m.pkg).join(', ')} for ${missing.map((m) => m.why).join(' and ')} (apt-get install)…\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], { env });
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing.map((m) => m.pkg)], { env });
}
for (const need of debian) {
  if (!existsSync(need.file)) problems.push(`${need.file} is missing, for ${need.why}: install Debian's ${need.pkg} package (apt-get install ${need.pkg})`);
}

if (problems.length > 0) {
  for (const problem of problems) process.stderr.write(`test setup: ${problem}\n`);
  process.exit(1);
}
