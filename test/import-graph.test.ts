/**
 * The import graph of coord's own code has no cycle: each module depends on what it names,
 * and nothing it names depends back on it. Read with TypeScript's own pre-processor (type
 * imports included: a cycle of types is still a knot).
 */
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sources(full);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [full] : [];
  });
}

/** The project files `file` imports (relative specifiers, `.js` written for `.ts`). */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return importedFiles
    .map((ref) => ref.fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')))
    .filter((target) => existsSync(target));
}

/** Every cycle found by a depth-first walk, each as the files around it. */
function cycles(files: string[]): string[][] {
  const graph = new Map(files.map((file) => [file, importsOf(file)]));
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of files) if (!state.has(file)) visit(file);
  return found.map((cycle) => cycle.map((file) => path.relative(ROOT, file)));
}

describe('the import graph', () => {
  it('has no cycle in src/, workers/ and machines/', () => {
    const files = ['src', 'workers', 'machines'].flatMap((dir) => sources(path.join(ROOT, dir)));
    expect(files.length).toBeGreaterThan(100);
    expect(cycles(files)).toEqual([]);
  });

  it('finds a cycle when there is one (the check can fail)', () => {
    const fixture = path.join(ROOT, 'test', 'fixtures', 'import-cycle');
    expect(cycles(sources(fixture))).toEqual([['test/fixtures/import-cycle/a.ts', 'test/fixtures/import-cycle/b.ts', 'test/fixtures/import-cycle/a.ts']]);
  });
});
