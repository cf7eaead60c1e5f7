import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCoordError, type CoordError } from '../../src/errors.js';
import { loadTaskFile, parseTaskFileText } from '../../src/tasks/load.js';

function caught(run: () => unknown): CoordError {
  try {
    run();
  } catch (error) {
    if (isCoordError(error)) return error;
    throw error;
  }
  throw new Error('expected a CoordError');
}

const yaml = (lines: string[]): string => `${lines.join('\n')}\n`;

describe('parseTaskFileText: valid files', () => {
  it('reads YAML and applies defaults', () => {
    const specs = parseTaskFileText(yaml([
      'tasks:',
      '  - id: build',
      '    run: [npm, run, build]',
      '  - id: test',
      '    run: [npm, test]',
      '    deps: [build]',
      '    priority: 2',
      '    needs: [node]',
    ]), 'tasks.yaml');
    expect(specs).toEqual([
      { id: 'build', run: ['npm', 'run', 'build'], deps: [], priority: 0, needs: [], env: {} },
      { id: 'test', run: ['npm', 'test'], deps: ['build'], priority: 2, needs: ['node'], env: {} },
    ]);
  });

  it('reads JSON, with a byte-order mark', () => {
    const text = '\uFEFF{"tasks": [{"id": "a", "run": ["true"]}, {"id": "b", "module": "./h.js", "deps": ["a"]}]}';
    expect(parseTaskFileText(text, 'tasks.json').map((s) => s.id)).toEqual(['a', 'b']);
  });

  it('tries JSON then YAML for other extensions', () => {
    expect(parseTaskFileText('{"tasks": []}', 'tasks.txt')).toEqual([]);
    expect(parseTaskFileText('tasks:\n  - {id: a, run: [x]}\n', 'tasks')).toHaveLength(1);
  });

  it('accepts deps on tasks the caller already knows', () => {
    const text = '{"tasks": [{"id": "b", "run": ["x"], "deps": ["a"]}]}';
    expect(caught(() => parseTaskFileText(text, 't.json')).code).toBe('TASK_UNKNOWN_DEP');
    expect(parseTaskFileText(text, 't.json', { existing: new Set(['a']) })).toHaveLength(1);
  });
});

describe('parseTaskFileText: a list at the top', () => {
  it('says to put the tasks under a "tasks" key, in JSON and in YAML', () => {
    const json = caught(() => parseTaskFileText('[{"id": "a", "run": ["true"]}]', 'tasks.json'));
    expect(json.code).toBe('TASK_INVALID');
    expect(json.message).toContain('tasks.json:1:1: the file is a list; put the tasks under a "tasks" key');
    const fromYaml = caught(() => parseTaskFileText(yaml(['- id: a', '  run: [true]']), 'tasks.yaml'));
    expect(fromYaml.message).toContain('(in YAML: a first line "tasks:" and the list indented under it)');
  });
});

describe('parseTaskFileText: syntax errors name the line', () => {
  it('YAML', () => {
    const error = caught(() => parseTaskFileText(yaml(['tasks:', '  - id: a', '    run: [x', '  - id: b']), 'tasks.yaml'));
    expect(error.code).toBe('TASK_FILE_SYNTAX');
    expect(error.message).toMatch(/^tasks\.yaml:\d+:\d+: invalid YAML: /);
    expect(error.details).toMatchObject({ file: 'tasks.yaml' });
    expect(error.details['line']).toBeGreaterThanOrEqual(3);
  });

  it('YAML duplicate keys', () => {
    const error = caught(() => parseTaskFileText(yaml(['tasks:', '  - id: a', '    id: b', '    run: [x]']), 't.yml'));
    expect(error.code).toBe('TASK_FILE_SYNTAX');
    expect(error.details).toMatchObject({ line: 3, column: 5 });
  });

  it('JSON trailing comma (which JSON.parse does not locate on Node 20)', () => {
    const text = '{"tasks": [\n  {"id": "a", "run": ["x"]},\n  {"id": "b", "run": ["x"],}\n]}';
    const error = caught(() => parseTaskFileText(text, 'tasks.json'));
    expect(error.code).toBe('TASK_FILE_SYNTAX');
    expect(error.message).toBe('tasks.json:3:28: invalid JSON: trailing comma');
    expect(error.details).toMatchObject({ file: 'tasks.json', line: 3, column: 28 });
  });

  it('JSON with YAML-only syntax is still invalid JSON', () => {
    const error = caught(() => parseTaskFileText('{"tasks": [\n  {id: "a"}\n]}', 'tasks.json'));
    expect(error.code).toBe('TASK_FILE_SYNTAX');
    expect(error.details).toMatchObject({ line: 2, column: 4 });
  });

  it('JSON stays strict: comments are refused where they start', () => {
    const error = caught(() => parseTaskFileText('{"tasks": [\n  // none yet\n]}', 'tasks.json'));
    expect(error.message).toBe('tasks.json:2:3: invalid JSON: unexpected "/"');
  });

  it('JSON too deeply nested to locate is still a syntax error, at the end', () => {
    const text = `{"tasks": ${'['.repeat(200_000)}x`;
    const error = caught(() => parseTaskFileText(text, 'tasks.json'));
    expect(error.code).toBe('TASK_FILE_SYNTAX');
    expect(error.details).toMatchObject({ line: 1, column: text.length + 1 });
  });
});

describe('parseTaskFileText: schema errors name the field', () => {
  it('points at the offending field in YAML', () => {
    const error = caught(() => parseTaskFileText(yaml([
      'tasks:',
      '  - id: a',
      '    run: [x]',
      '  - id: b',
      '    run: not-an-array',
    ]), 'tasks.yaml'));
    expect(error.code).toBe('TASK_INVALID');
    expect(error.message).toBe('tasks.yaml:5:5: tasks[1].run: expected array, received string');
    expect(error.details).toMatchObject({
      file: 'tasks.yaml', line: 5, column: 5, issueCount: 1,
      issues: [{ code: 'TASK_INVALID', path: 'tasks[1].run', line: 5, column: 5 }],
    });
  });

  it('points at the offending field in JSON', () => {
    const text = '{\n  "tasks": [\n    {"id": "a", "run": ["x"]},\n    {"id": "b",\n     "priority": "high", "run": ["x"]}\n  ]\n}';
    const error = caught(() => parseTaskFileText(text, 'tasks.json'));
    expect(error.message).toBe('tasks.json:5:6: tasks[1].priority: expected number, received string');
  });

  it('points at an unknown field and at the task for a missing one', () => {
    const error = caught(() => parseTaskFileText(yaml([
      'tasks:',
      '  - id: a',
      '    run: [x]',
      '    retries: 3',
      '  - id: b',
    ]), 'tasks.yaml'));
    const issues = error.details['issues'] as Array<{ path: string; line: number; message: string }>;
    expect(issues.map((i) => [i.path, i.line])).toEqual([['tasks[0]', 4], ['tasks[1]', 5]]);
    expect(issues[0]?.message).toContain('retries');
    expect(issues[1]?.message).toContain('exactly one of "run"');
  });

  it('is all or nothing, listing the first five problems and counting the rest', () => {
    const tasks = Array.from({ length: 8 }, (_, i) => `  - id: t${i}\n    run: ${i === 0 ? '[x]' : 'bad'}`);
    const error = caught(() => parseTaskFileText(`tasks:\n${tasks.join('\n')}\n`, 'tasks.yaml'));
    expect(error.details['issueCount']).toBe(7);
    expect(error.details['issues']).toHaveLength(5);
    expect(error.message.split('\n')).toHaveLength(6);
    expect(error.message).toContain('(and 2 more)');
  });

  it('places a schema error in JSON too deeply nested to locate at the file start', () => {
    const text = `{"tasks": [${'['.repeat(200_000)}${']'.repeat(200_000)}]}`;
    const error = caught(() => parseTaskFileText(text, 'tasks.json'));
    expect(error.code).toBe('TASK_INVALID');
    expect(error.details).toMatchObject({ line: 1, column: 1 });
  });

  it('rejects a file that is not { tasks: [...] }', () => {
    expect(caught(() => parseTaskFileText('[]', 't.json')).code).toBe('TASK_INVALID');
    expect(caught(() => parseTaskFileText('', 't.yaml')).details).toMatchObject({ line: 1, column: 1 });
    expect(caught(() => parseTaskFileText('tasks: []\nextra: 1\n', 't.yaml')).details).toMatchObject({ line: 2 });
  });
});

describe('parseTaskFileText: unsafe ids', () => {
  it.each(['../x', 'a/b', '-x', 'x.lock', '.hidden', 'a..b', 'x.', 'sp ace', 'a'.repeat(65)])('rejects id %j', (id) => {
    const error = caught(() => parseTaskFileText(JSON.stringify({ tasks: [{ id, run: ['x'] }] }), 't.json'));
    expect(error.code).toBe('TASK_UNSAFE_ID');
    expect(error.details['issues']).toMatchObject([{ code: 'TASK_UNSAFE_ID', path: 'tasks[0].id' }]);
  });

  it('rejects an unsafe id in deps too, at its line', () => {
    const error = caught(() => parseTaskFileText(yaml(['tasks:', '  - id: a', '    run: [x]', '    deps:', '      - ok', '      - ../etc']), 't.yaml'));
    expect(error.code).toBe('TASK_UNSAFE_ID');
    expect(error.details).toMatchObject({ line: 6, column: 9 });
    expect(error.message).toContain('tasks[0].deps[1]: "../etc"');
  });
});

describe('parseTaskFileText: graph errors name the line', () => {
  it('unknown dependency: the dependency entry', () => {
    const error = caught(() => parseTaskFileText(yaml([
      'tasks:', '  - id: a', '    run: [x]', '  - id: b', '    run: [x]', '    deps: [a, nope]',
    ]), 'tasks.yaml'));
    expect(error.code).toBe('TASK_UNKNOWN_DEP');
    expect(error.message).toBe('tasks.yaml:6:15: task "b" depends on unknown task "nope"');
    expect(error.details).toMatchObject({ file: 'tasks.yaml', line: 6, column: 15, taskId: 'b', dep: 'nope' });
  });

  it('duplicate id: the second occurrence', () => {
    const error = caught(() => parseTaskFileText(yaml(['tasks:', '  - id: a', '    run: [x]', '  - id: a', '    run: [y]']), 't.yaml'));
    expect(error.code).toBe('TASK_DUPLICATE_ID');
    expect(error.details).toMatchObject({ line: 4, column: 5 });
  });

  it('cycle: named in order', () => {
    const text = JSON.stringify({ tasks: [{ id: 'a', run: ['x'], deps: ['b'] }, { id: 'b', run: ['x'], deps: ['a'] }] }, null, 2);
    const error = caught(() => parseTaskFileText(text, 't.json'));
    expect(error.code).toBe('TASK_CYCLE');
    expect(error.message).toMatch(/^t\.json:\d+:\d+: task dependency cycle: a -> b -> a$/);
  });
});

describe('loadTaskFile', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'coord-load-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file from disk', async () => {
    const file = path.join(dir, 'tasks.yml');
    await writeFile(file, 'tasks:\n  - id: a\n    run: [echo, hi]\n');
    expect(await loadTaskFile(file)).toMatchObject([{ id: 'a', run: ['echo', 'hi'] }]);
  });

  it('names the file in errors', async () => {
    const file = path.join(dir, 'bad.json');
    await writeFile(file, '{"tasks": [{"id": "a"}]}');
    await expect(loadTaskFile(file)).rejects.toMatchObject({ code: 'TASK_INVALID', details: { file, line: 1 } });
  });

  it('reports an unreadable file', async () => {
    const file = path.join(dir, 'missing.yaml');
    await expect(loadTaskFile(file)).rejects.toMatchObject({ code: 'TASK_FILE_UNREADABLE', details: { file } });
    await expect(loadTaskFile(dir)).rejects.toMatchObject({ code: 'TASK_FILE_UNREADABLE' });
  });
});
