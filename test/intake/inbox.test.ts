/**
 * The inbox on real folders with real fs events: files renamed in, written in place slowly,
 * invalid, hidden, shared by two supervisors, left over from a crash, refused for reasons
 * that are not theirs. Every check waits for something to happen (a file in accepted/ or
 * rejected/, a log line, `ready`); that something else did not happen is shown by a later,
 * positive signal that would have come after it.
 */
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CoordError } from '../../src/errors.js';
import { watchInbox, type Inbox, type InboxError, type InboxOptions } from '../../src/intake/inbox.js';
import type { TaskSpec } from '../../src/tasks/spec.js';

const WAIT = { timeout: 10_000, interval: 20 };

let root: string;
/** The inbox folder. */
let dir: string;
/** Where files are written before they are renamed in (same filesystem, outside the inbox). */
let staging: string;
const inboxes: Inbox[] = [];

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'coord-inbox-'));
  dir = path.join(root, 'inbox');
  staging = path.join(root, 'staging');
  mkdirSync(staging);
});
afterEach(async () => {
  await Promise.all(inboxes.splice(0).map((inbox) => inbox.close()));
  rmSync(root, { recursive: true, force: true });
});

interface Submit { file: string; ids: string[]; at: number }
interface Watching {
  inbox: Inbox;
  submits: Submit[];
  accepted: Array<{ file: string; ids: string[] }>;
  rejected: Array<{ file: string; error: InboxError }>;
  logs: Array<{ level: number; msg: string; file?: string }>;
}

/** Starts an inbox on `dir` whose submit records each call and answers with the task ids. */
function watching(overrides: Partial<InboxOptions> = {}): Watching {
  const submits: Submit[] = [];
  const accepted: Watching['accepted'] = [];
  const rejected: Watching['rejected'] = [];
  const logs: Watching['logs'] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as Watching['logs'][number]) });
  const inbox = watchInbox({
    dir, nodeId: 'n1', logger,
    submit: async (tasks: TaskSpec[], file: string) => {
      const ids = tasks.map((task) => task.id);
      submits.push({ file, ids, at: Date.now() });
      return ids;
    },
    onAccepted: (entry) => accepted.push(entry),
    onRejected: (entry) => rejected.push(entry),
    ...overrides,
  });
  inboxes.push(inbox);
  return { inbox, submits, accepted, rejected, logs };
}

function taskFile(...ids: string[]): string {
  return JSON.stringify({ tasks: ids.map((id) => ({ id, run: ['true'] })) });
}

/** Writes `text` outside the inbox, then renames it in: how a well-behaved writer drops a file. */
function drop(name: string, text: string): void {
  const staged = path.join(staging, name);
  writeFileSync(staged, text);
  renameSync(staged, path.join(dir, name));
}

const list = (folder: string): string[] => (existsSync(folder) ? readdirSync(folder).sort() : []);
const accepted = (): string[] => list(path.join(dir, 'accepted'));
const rejected = (): string[] => list(path.join(dir, 'rejected'));

describe('watchInbox', () => {
  it('submits a file renamed in and moves it to accepted/', async () => {
    const w = watching();
    await w.inbox.ready;
    drop('first.json', taskFile('a', 'b'));
    // The file reaches accepted/ before its acceptance is announced: wait for both.
    await vi.waitFor(() => {
      expect(accepted()).toEqual(['first.json']);
      expect(w.accepted).toHaveLength(1);
    }, WAIT);
    expect(w.submits.map(({ file, ids }) => ({ file, ids }))).toEqual([{ file: 'first.json', ids: ['a', 'b'] }]);
    expect(w.accepted).toEqual([{ file: 'first.json', ids: ['a', 'b'] }]);
    expect(readFileSync(path.join(dir, 'accepted', 'first.json'), 'utf8')).toBe(taskFile('a', 'b'));
    expect(existsSync(path.join(dir, 'first.json'))).toBe(false);
    expect(list(path.join(dir, '.claimed', 'n1'))).toEqual([]);
    expect(w.inbox.counts()).toEqual({ accepted: 1, rejected: 0 });
    expect(w.logs.some((line) => line.level === 30 && line.file === 'first.json')).toBe(true);
  });

  it('reads a file written in place slowly only once it is complete', async () => {
    const w = watching();
    await w.inbox.ready;
    const text = taskFile('s1', 's2', 's3');
    // Four chunks: no prefix short of the whole is valid JSON.
    const cuts = [0, 12, 30, 50, text.length];
    const fd = openSync(path.join(dir, 'slow.json'), 'w');
    let lastWriteAt = 0;
    try {
      for (let i = 0; i < cuts.length - 1; i++) {
        if (i > 0) await sleep(200);
        writeSync(fd, text.slice(cuts[i], cuts[i + 1]));
        lastWriteAt = Date.now();
      }
    } finally {
      closeSync(fd);
    }
    await vi.waitFor(() => expect(accepted()).toEqual(['slow.json']), WAIT);
    expect(w.submits).toHaveLength(1);
    expect(w.submits[0]?.ids).toEqual(['s1', 's2', 's3']);
    expect(w.submits[0]?.at).toBeGreaterThanOrEqual(lastWriteAt);
    expect(rejected()).toEqual([]);
    // It was looked at before it was complete, and waited on: the debug line says so.
    expect(w.logs.some((line) => line.level === 20 && line.file === 'slow.json' && line.msg.includes('does not parse yet'))).toBe(true);
  });

  it('rejects a YAML file whose second task is invalid, with the line of the problem', async () => {
    const w = watching();
    await w.inbox.ready;
    drop('bad.yaml', 'tasks:\n  - id: one\n    run: [echo, one]\n  - id: two\n    run: 5\n');
    await vi.waitFor(() => expect(rejected()).toEqual(['bad.yaml', 'bad.yaml.error.json']), WAIT);
    const error = JSON.parse(readFileSync(path.join(dir, 'rejected', 'bad.yaml.error.json'), 'utf8')) as InboxError;
    expect(Object.keys(error).sort()).toEqual(['code', 'column', 'file', 'line', 'message']);
    expect(error).toMatchObject({ code: 'TASK_INVALID', file: 'bad.yaml', line: 5, column: 5 });
    expect(error.message).toContain('tasks[1].run');
    expect(w.rejected).toEqual([{ file: 'bad.yaml', error }]);
    expect(w.submits).toEqual([]);
    expect(w.inbox.counts()).toEqual({ accepted: 0, rejected: 1 });
  });

  it('rejects a JSON file with a syntax error on line 3', async () => {
    const w = watching({ settleMs: 200 });
    await w.inbox.ready;
    drop('broken.json', '{\n  "tasks": [\n    { "id": "a", "run": ["true"] ,, }\n  ]\n}\n');
    await vi.waitFor(() => expect(rejected()).toContain('broken.json.error.json'), WAIT);
    const error = JSON.parse(readFileSync(path.join(dir, 'rejected', 'broken.json.error.json'), 'utf8')) as InboxError;
    expect(error).toMatchObject({ code: 'TASK_FILE_SYNTAX', file: 'broken.json', line: 3 });
  });

  it('rejects a file the submit refuses (its fault), with no line', async () => {
    const w = watching({
      submit: async () => {
        throw new CoordError('TASK_EXISTS', 'task a already exists with a different spec', { details: { id: 'a' } });
      },
    });
    await w.inbox.ready;
    drop('dup.json', taskFile('a'));
    await vi.waitFor(() => expect(rejected()).toEqual(['dup.json', 'dup.json.error.json']), WAIT);
    const error = JSON.parse(readFileSync(path.join(dir, 'rejected', 'dup.json.error.json'), 'utf8')) as InboxError;
    expect(error).toEqual({ code: 'TASK_EXISTS', message: 'task a already exists with a different spec', file: 'dup.json', line: null, column: null });
  });

  it('ignores dotfiles, .tmp files and subfolders until renamed to a real name', async () => {
    const w = watching();
    await w.inbox.ready;
    writeFileSync(path.join(dir, '.hidden.json'), taskFile('h'));
    writeFileSync(path.join(dir, 'partial.json.tmp'), taskFile('t'));
    mkdirSync(path.join(dir, 'sub'));
    writeFileSync(path.join(dir, 'sub', 'nested.json'), taskFile('n'));
    // Files are handled in the order they become quiet: had any of the above been heard,
    // it would have been submitted before this marker.
    drop('marker.json', taskFile('m'));
    await vi.waitFor(() => expect(accepted()).toEqual(['marker.json']), WAIT);
    expect(w.submits.map((s) => s.file)).toEqual(['marker.json']);
    renameSync(path.join(dir, '.hidden.json'), path.join(dir, 'hidden.json'));
    renameSync(path.join(dir, 'partial.json.tmp'), path.join(dir, 'partial.json'));
    await vi.waitFor(() => expect(accepted()).toEqual(['hidden.json', 'marker.json', 'partial.json']), WAIT);
    expect(w.submits.map((s) => s.file).sort()).toEqual(['hidden.json', 'marker.json', 'partial.json']);
    expect(existsSync(path.join(dir, 'sub', 'nested.json'))).toBe(true);
  });

  it('keeps every copy of a name dropped twice', async () => {
    const w = watching();
    await w.inbox.ready;
    drop('same.json', taskFile('x1'));
    await vi.waitFor(() => expect(accepted()).toHaveLength(1), WAIT);
    drop('same.json', taskFile('x2'));
    await vi.waitFor(() => expect(accepted()).toHaveLength(2), WAIT);
    const first = accepted().find((name) => name !== 'same.json');
    expect(accepted()).toContain('same.json');
    expect(first).toMatch(/^same\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z\.json$/);
    expect(readFileSync(path.join(dir, 'accepted', 'same.json'), 'utf8')).toBe(taskFile('x1'));
    expect(readFileSync(path.join(dir, 'accepted', first as string), 'utf8')).toBe(taskFile('x2'));
    expect(w.submits.map((s) => s.ids)).toEqual([['x1'], ['x2']]);
  });

  it('two inboxes on one folder take each of 30 files exactly once between them', async () => {
    mkdirSync(dir);
    // Half already there when both start (both list them at once), half dropped after.
    for (let i = 0; i < 15; i++) writeFileSync(path.join(dir, `f${i}.json`), taskFile(`t${i}`));
    const one = watching({ nodeId: 'n1' });
    const two = watching({ nodeId: 'n2' });
    await Promise.all([one.inbox.ready, two.inbox.ready]);
    for (let i = 15; i < 30; i++) drop(`f${i}.json`, taskFile(`t${i}`));
    await vi.waitFor(() => expect(accepted()).toHaveLength(30), WAIT);
    const files = [...one.submits, ...two.submits].map((s) => s.file);
    expect(files).toHaveLength(30);
    expect(new Set(files).size).toBe(30);
    expect(one.inbox.counts().accepted + two.inbox.counts().accepted).toBe(30);
    expect(rejected()).toEqual([]);
  });

  it('picks up a file that was there before it started, by the time it is ready', async () => {
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'waiting.yaml'), 'tasks:\n  - id: w\n    run: [echo, w]\n');
    const w = watching();
    await w.inbox.ready;
    expect(accepted()).toEqual(['waiting.yaml']);
    expect(w.submits.map((s) => s.ids)).toEqual([['w']]);
  });

  it("re-handles at start what its node left claimed, and leaves other nodes' claims alone", async () => {
    mkdirSync(path.join(dir, '.claimed', 'n1'), { recursive: true });
    mkdirSync(path.join(dir, '.claimed', 'n2'), { recursive: true });
    writeFileSync(path.join(dir, '.claimed', 'n1', 'left.json'), taskFile('l'));
    writeFileSync(path.join(dir, '.claimed', 'n2', 'theirs.json'), taskFile('o'));
    const w = watching({ nodeId: 'n1' });
    await w.inbox.ready;
    expect(accepted()).toEqual(['left.json']);
    expect(w.submits.map((s) => s.file)).toEqual(['left.json']);
    expect(list(path.join(dir, '.claimed', 'n2'))).toEqual(['theirs.json']);
  });

  it.each([
    ['NOT_RUNNING', new CoordError('NOT_RUNNING', 'the supervisor is stopping')],
    ['STORE_UNAVAILABLE', new CoordError('STORE_UNAVAILABLE', 'the store cannot be reached')],
    ['a plain Error', new Error('boom')],
  ])('leaves a file claimed, not rejected, when the submit fails with %s; the next start submits it', async (_name, failure) => {
    const failing = watching({ submit: async () => Promise.reject(failure) });
    await failing.inbox.ready;
    drop('later.json', taskFile('later'));
    await vi.waitFor(() => expect(failing.logs.some((line) => line.level === 40 && line.file === 'later.json')).toBe(true), WAIT);
    expect(list(path.join(dir, '.claimed', 'n1'))).toEqual(['later.json']);
    expect(rejected()).toEqual([]);
    expect(failing.inbox.counts()).toEqual({ accepted: 0, rejected: 0 });
    await failing.inbox.close();

    const next = watching();
    await next.inbox.ready;
    expect(accepted()).toEqual(['later.json']);
    expect(next.submits.map((s) => s.file)).toEqual(['later.json']);
  });

  it('does not claim over a file of the same name still waiting for a retry; the next start takes both', async () => {
    const failing = watching({ submit: async () => Promise.reject(new CoordError('STORE_UNAVAILABLE', 'the store is down')) });
    await failing.inbox.ready;
    drop('nightly.json', taskFile('night1'));
    await vi.waitFor(() => expect(list(path.join(dir, '.claimed', 'n1'))).toEqual(['nightly.json']), WAIT);
    drop('nightly.json', taskFile('night2'));
    await vi.waitFor(() => expect(failing.logs.some((line) => line.level === 40 && line.msg.includes('still claimed here'))).toBe(true), WAIT);
    expect(readFileSync(path.join(dir, '.claimed', 'n1', 'nightly.json'), 'utf8')).toBe(taskFile('night1'));
    expect(readFileSync(path.join(dir, 'nightly.json'), 'utf8')).toBe(taskFile('night2'));
    await failing.inbox.close();

    const next = watching();
    await next.inbox.ready;
    expect(next.submits.map((s) => s.ids)).toEqual([['night1'], ['night2']]);
    expect(accepted()).toHaveLength(2);
  });

  it('close() waits for the file in hand, and nothing is called after it resolves', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const calls: string[] = [];
    const w = watching({
      submit: async (tasks, file) => {
        calls.push(`submit ${file}`);
        await held;
        return tasks.map((task) => task.id);
      },
      onAccepted: (entry) => calls.push(`accepted ${entry.file}`),
      onRejected: (entry) => calls.push(`rejected ${entry.file}`),
    });
    await w.inbox.ready;
    drop('held.json', taskFile('h'));
    await vi.waitFor(() => expect(calls).toEqual(['submit held.json']), WAIT);
    const closing = w.inbox.close().then(() => calls.push('closed'));
    // The submit is let go well after the close began: a close that did not wait would be first.
    setTimeout(release, 200);
    await closing;
    expect(calls).toEqual(['submit held.json', 'accepted held.json', 'closed']);
    expect(accepted()).toEqual(['held.json']);

    // A file dropped now is taken by another inbox, not by the closed one.
    const other = watching({ nodeId: 'n2' });
    await other.inbox.ready;
    drop('after.json', taskFile('z'));
    await vi.waitFor(() => expect(accepted()).toEqual(['after.json', 'held.json']), WAIT);
    expect(other.submits.map((s) => s.file)).toEqual(['after.json']);
    expect(calls).toEqual(['submit held.json', 'accepted held.json', 'closed']);
  });
});
