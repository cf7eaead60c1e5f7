#!/usr/bin/env node
// coord's launcher: `node supervisor.js --workers 4 ...` (also the `coord` bin).
// It only runs the built CLI; `npm install` builds it (the `prepare` script).
import { existsSync } from 'node:fs';

const cli = new URL('./dist/src/cli/main.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('coord: not built yet: run `npm install` (or `npm run build`) in the coord folder first\n');
  process.exit(2);
}
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
