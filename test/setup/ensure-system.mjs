#!/usr/bin/env node
/**
 * What the tests need that npm cannot install, set up before they run (`npm test` calls this
 * first): a PostgreSQL server on 127.0.0.1:5432 (the PostgreSQL store's tests; started with
 * the Debian cluster tools when it is installed but down) and Debian's Chromium at
 * /usr/bin/chromium (the inspector page's browser tests; installed with apt when running as
 * root). What cannot be set up here fails with what to install.
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

// Chromium, for the inspector page's tests (driven by playwright-core, never downloaded).
if (!existsSync('/usr/bin/chromium')) {
  if (isRoot && existsSync('/usr/bin/apt-get')) {
    process.stdout.write('installing Debian\'s chromium for the browser tests (apt-get install chromium)…\n');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    run('apt-get', ['update', '-qq'], { env });
    run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], { env });
  }
  if (!existsSync('/usr/bin/chromium')) problems.push('Chromium is missing at /usr/bin/chromium: install Debian\'s chromium package (apt-get install chromium)');
}

if (problems.length > 0) {
  for (const problem of problems) process.stderr.write(`test setup: ${problem}\n`);
  process.exit(1);
}
