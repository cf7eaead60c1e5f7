/**
 * `coord machines export` as a user runs it: the built CLI (`node supervisor.js`, from
 * dist/: build first), in an empty directory that is no repository, leaving nothing but what
 * it was asked to write.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createMachine, type AnyStateMachine } from 'xstate';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exportMachine } from '../../src/inspect/export-formats.js';
import { MACHINE_DEFINITIONS, MACHINE_NAMES } from '../../src/inspect/machine-definitions.js';
import { machinesDoc } from '../../src/inspect/machines-doc.js';
import { runCli } from '../helpers/cli.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'coord-machines-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Every state node's id (XState's `idMap`, marked internal). */
const stateIds = (machine: AnyStateMachine): string[] => [...(machine as unknown as { idMap: Map<string, unknown> }).idMap.keys()];

const coord = (...args: string[]) => runCli(args, { cwd: dir, env: { COORD_STATE_DIR: path.join(dir, 'state') } });

describe('coord machines export', () => {
  it('prints every machine as one JSON object keyed by name (the default format)', async () => {
    const { code, stdout, stderr } = await coord('machines', 'export');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const all = JSON.parse(stdout) as Record<string, unknown>;
    expect(Object.keys(all)).toEqual([...MACHINE_NAMES]);
    for (const { name, machine } of MACHINE_DEFINITIONS) {
      expect(stateIds(createMachine(all[name] as Parameters<typeof createMachine>[0]))).toEqual(stateIds(machine));
    }
    // Nothing started: no state directory, no repository, no file.
    expect(readdirSync(dir)).toEqual([]);
  });

  it('prints Mermaid and DOT, each machine under its header', async () => {
    const mermaid = await coord('machines', 'export', '--format', 'mermaid');
    expect(mermaid.code).toBe(0);
    for (const name of MACHINE_NAMES) expect(mermaid.stdout).toContain(`%% ${name}\nstateDiagram-v2\n`);
    const dot = await coord('machines', 'export', '--format', 'dot');
    expect(dot.code).toBe(0);
    for (const name of MACHINE_NAMES) expect(dot.stdout).toMatch(new RegExp(`// ${name}\ndigraph "`));
  });

  it('--out DIR: one file per machine, DIR created, the paths printed', async () => {
    for (const [format, ext] of [['json', 'json'], ['mermaid', 'mmd'], ['dot', 'dot']] as const) {
      const out = path.join('exports', format);
      const { code, stdout, stderr } = await coord('machines', 'export', '--format', format, '--out', out);
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(stdout.trim().split('\n')).toEqual(MACHINE_NAMES.map((name) => path.join(out, `${name}.${ext}`)));
      for (const { name, machine } of MACHINE_DEFINITIONS) {
        expect(readFileSync(path.join(dir, out, `${name}.${ext}`), 'utf8')).toBe(exportMachine(machine, format));
      }
    }
    expect(readdirSync(dir)).toEqual(['exports']);
  });

  it('--doc FILE writes the machines\' page', async () => {
    const { code, stdout } = await coord('machines', 'export', '--format', 'mermaid', '--doc', 'docs/machines.md');
    expect(code).toBe(0);
    expect(stdout).toBe('docs/machines.md\n');
    expect(readFileSync(path.join(dir, 'docs', 'machines.md'), 'utf8')).toBe(machinesDoc());
  });

  it('refuses a bad format, an unknown flag or verb, --doc in another format: exit 2, USAGE', async () => {
    for (const args of [
      ['export', '--format', 'svg'],
      ['export', '--bogus'],
      ['export', 'extra'],
      ['export', '--format', 'dot', '--doc', 'x.md'],
      ['draw'],
    ]) {
      const { code, stdout, stderr } = await coord('machines', ...args);
      expect(code, args.join(' ')).toBe(2);
      expect(stderr).toMatch(/^coord: USAGE: /);
      expect(stdout).toBe('');
    }
    expect((await coord('machines', 'export', '--format', 'svg')).stderr).toContain('--format must be one of json, mermaid, dot, not "svg"');
    expect(existsSync(path.join(dir, 'x.md'))).toBe(false);
  });

  it('explains itself: coord machines --help, and in coord --help', async () => {
    const help = await coord('machines', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: coord machines export [--format json|mermaid|dot] [--out DIR] [--doc FILE]');
    expect((await coord('machines')).code).toBe(2);
    expect((await coord('--help')).stdout).toContain('coord machines export');
  });
});
