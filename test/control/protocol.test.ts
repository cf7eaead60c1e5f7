/**
 * The socket protocol's requests: every command parses, anything else is BAD_REQUEST with the
 * request's id kept when it had one, and a task is named by taskId or by the request's id.
 */
import { describe, expect, it } from 'vitest';
import { CONTROL_COMMANDS, parseRequest, targetTask } from '../../src/control/protocol.js';
import { isCoordError } from '../../src/errors.js';

function refusal(line: string): { code: string; message: string; id: unknown } {
  try {
    parseRequest(line);
  } catch (error) {
    if (!isCoordError(error)) throw error;
    return { code: error.code, message: error.message, id: error.details['id'] };
  }
  throw new Error(`accepted ${line}`);
}

describe('parseRequest', () => {
  it('reads every command', () => {
    expect(CONTROL_COMMANDS).toEqual(['status', 'submit', 'tasks', 'task', 'cancel', 'redrive', 'message', 'unblock', 'drain', 'stop', 'subscribe', 'inspect', 'pools', 'inspect-link']);
    expect(parseRequest('{"id":1,"cmd":"status"}')).toEqual({ id: 1, cmd: 'status' });
    expect(parseRequest('{"id":"x","cmd":"submit","tasks":[{"id":"a","run":["true"]}]}')).toMatchObject({ cmd: 'submit', tasks: [{ id: 'a' }] });
    expect(parseRequest('{"cmd":"tasks","status":"dead"}')).toEqual({ cmd: 'tasks', status: 'dead' });
    expect(parseRequest('{"id":2,"cmd":"drain","deadlineMs":0}')).toEqual({ id: 2, cmd: 'drain', deadlineMs: 0 });
  });

  it('refuses what is not JSON, an unknown command, a bad field and an unknown one, keeping the id', () => {
    expect(refusal('{nope')).toMatchObject({ code: 'BAD_REQUEST', id: null });
    expect(refusal('{"id":7,"cmd":"explode"}')).toMatchObject({ code: 'BAD_REQUEST', id: 7 });
    expect(refusal('{"id":7,"cmd":"explode"}').message).toContain('one of status, submit');
    expect(refusal('{"id":8,"cmd":"submit","tasks":"a"}')).toMatchObject({ code: 'BAD_REQUEST', id: 8 });
    expect(refusal('{"id":8,"cmd":"submit","tasks":"a"}').message).toContain('submit: tasks');
    expect(refusal('{"id":9,"cmd":"status","extra":true}')).toMatchObject({ code: 'BAD_REQUEST', id: 9 });
    expect(refusal('[1,2]')).toMatchObject({ code: 'BAD_REQUEST', id: null });
  });

  it('names the task by taskId, or by the request id', () => {
    expect(targetTask(parseRequest('{"id":1,"cmd":"task","taskId":"build"}') as never)).toBe('build');
    expect(targetTask(parseRequest('{"id":"build","cmd":"cancel"}') as never)).toBe('build');
    expect(() => targetTask(parseRequest('{"id":3,"cmd":"redrive"}') as never)).toThrow(/name the task/);
  });
});
