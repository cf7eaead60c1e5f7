/**
 * The API emulators the real CLIs are tested against: what they send is what the APIs send.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createAnthropicEmulator, lastUserText } from '../fixtures/anthropic-emulator.js';
import { codexProviderArgs, createResponsesEmulator } from '../fixtures/responses-emulator.js';
import type { Emulator } from '../fixtures/scripted-server.js';

let api: Emulator | null = null;
afterEach(async () => {
  await api?.close();
  api = null;
});

/** The events of a server-sent-events body, each `event:` with its parsed `data:`. */
function events(body: string): { event: string; data: Record<string, unknown> }[] {
  return body.split('\n\n').filter((chunk) => chunk.trim() !== '').map((chunk) => {
    const event = /^event: (.+)$/m.exec(chunk)?.[1] ?? '';
    const data = JSON.parse(/^data: (.+)$/m.exec(chunk)?.[1] ?? '{}') as Record<string, unknown>;
    return { event, data };
  });
}

const conversation = (text: string, stream = true) => ({
  model: 'claude-test', max_tokens: 100, stream, tools: [{ name: 'Bash', input_schema: { type: 'object' } }],
  messages: [{ role: 'user', content: [{ type: 'text', text: '<system-reminder>git status</system-reminder>' }, { type: 'text', text }] }],
});

async function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

describe('the Anthropic Messages emulator', () => {
  it('streams a text answer as the Messages API does, with the usage it was given', async () => {
    api = await createAnthropicEmulator({ script: [{ text: 'Hello there, world.' }], usage: { inputTokens: 7, outputTokens: 9 } });
    const res = await post(`${api.url}/v1/messages?beta=true`, conversation('Say hello.'));
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const stream = events(await res.text());
    expect(stream.map((e) => e.event)).toEqual(['message_start', 'ping', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    for (const e of stream) expect(e.data.type).toBe(e.event);
    expect(stream[0]!.data.message).toMatchObject({ role: 'assistant', model: 'claude-test', usage: { input_tokens: 7, output_tokens: 1 } });
    expect(stream.filter((e) => e.event === 'content_block_delta').map((e) => (e.data.delta as { text: string }).text).join('')).toBe('Hello there, world.');
    expect(stream.at(-2)!.data).toMatchObject({ delta: { stop_reason: 'end_turn' }, usage: { input_tokens: 7, output_tokens: 9, cache_read_input_tokens: 0 } });
    expect(lastUserText(api.requests[0]!.body)).toContain('Say hello.');
    expect(api.mainRequests()).toHaveLength(1);
  });

  it('streams a tool call as input_json_delta pieces that add up to the input', async () => {
    const input = { command: 'git commit -m x', description: 'Commit' };
    api = await createAnthropicEmulator({ script: [{ text: 'On it.', toolUse: { name: 'Bash', input, id: 'toolu_1' } }] });
    const stream = events(await (await post(`${api.url}/v1/messages`, conversation('Commit.'))).text());
    const starts = stream.filter((e) => e.event === 'content_block_start').map((e) => e.data.content_block);
    expect(starts).toEqual([{ type: 'text', text: '' }, { type: 'tool_use', id: 'toolu_1', name: 'Bash', input: {} }]);
    const json = stream.filter((e) => e.event === 'content_block_delta' && e.data.index === 1).map((e) => (e.data.delta as { partial_json: string }).partial_json).join('');
    expect(JSON.parse(json)).toEqual(input);
    expect(stream.find((e) => e.event === 'message_delta')!.data.delta).toMatchObject({ stop_reason: 'tool_use' });
  });

  it('answers a non-streaming request with the whole message', async () => {
    api = await createAnthropicEmulator({ script: [{ text: 'Whole.' }] });
    const res = await post(`${api.url}/v1/messages`, { ...conversation('x'), stream: false, tools: [] });
    // No tools: a side request (a title, a summary), answered without using the script.
    expect(await res.json()).toMatchObject({ type: 'message', role: 'assistant', content: [{ type: 'text', text: 'Scripted side answer' }], stop_reason: 'end_turn' });
    expect(api.requests[0]!.kind).toBe('side');
    const main = events(await (await post(`${api.url}/v1/messages`, conversation('y'))).text());
    expect(main.filter((e) => e.event === 'content_block_delta').map((e) => (e.data.delta as { text: string }).text).join('')).toBe('Whole.');
  });

  it('answers errors with their status, retry-after and the API\'s error body, `repeat` times', async () => {
    api = await createAnthropicEmulator({ script: [{ status: 429, retryAfterS: 3, repeat: 2 }, { status: 401 }, { text: 'after' }] });
    const first = await post(`${api.url}/v1/messages`, conversation('a'));
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('3');
    expect(await first.json()).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit' } });
    expect((await post(`${api.url}/v1/messages`, conversation('b'))).status).toBe(429);
    const third = await post(`${api.url}/v1/messages`, conversation('c'));
    expect(third.status).toBe(401);
    expect(await third.json()).toEqual({ type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });
    expect((await post(`${api.url}/v1/messages`, conversation('d'))).status).toBe(200);
    expect(api.mainRequests().map((r) => r.turn)).toEqual([0, 0, 1, 2]);
  });

  it('streams slowly when told, and lets a test act while it does', async () => {
    api = await createAnthropicEmulator({ script: [{ text: 'slow', delayMs: 20 }] });
    let finished = false;
    const body = post(`${api.url}/v1/messages`, conversation('x')).then((res) => res.text()).finally(() => (finished = true));
    const seen = await api.waitForRequest((r) => r.kind === 'main');
    // Announced as it came in, long before its nine events (20 ms apart) are all out.
    expect(seen.turn).toBe(0);
    expect(finished).toBe(false);
    expect(events(await body).at(-1)?.event).toBe('message_stop');
  });

  it('counts tokens, answers the reachability probe, and logs unknown routes with a 404', async () => {
    api = await createAnthropicEmulator({ script: [] });
    expect(await (await post(`${api.url}/v1/messages/count_tokens`, conversation('x'))).json()).toEqual({ input_tokens: 100 });
    expect((await fetch(`${api.url}/api/hello`, { method: 'HEAD' })).status).toBe(200);
    const unknown = await fetch(`${api.url}/v1/nothing`);
    expect(unknown.status).toBe(404);
    expect(api.unknown).toEqual(['GET /v1/nothing']);
    expect(api.mainRequests()).toEqual([]);
  });

  it('says so when the script is used up', async () => {
    api = await createAnthropicEmulator({ script: [] });
    const stream = events(await (await post(`${api.url}/v1/messages`, conversation('x'))).text());
    expect(stream.filter((e) => e.event === 'content_block_delta').map((e) => (e.data.delta as { text: string }).text).join('')).toBe('(emulator: script exhausted)');
  });
});

describe('the OpenAI Responses emulator', () => {
  it('streams a text answer and a function call, then response.completed with the usage', async () => {
    api = await createResponsesEmulator({ script: [{ text: 'Calling.', toolUse: { name: 'exec_command', input: { cmd: 'ls' }, id: 'call_1' } }], usage: { inputTokens: 10, cacheReadTokens: 4, outputTokens: 3 } });
    const stream = events(await (await post(`${api.url}/v1/responses`, { model: 'gpt-5.5', stream: true, input: [] })).text());
    expect(stream.map((e) => e.event)).toEqual([
      'response.created', 'response.output_item.added', 'response.output_text.delta', 'response.output_text.delta', 'response.output_text.delta',
      'response.output_item.done', 'response.output_item.added', 'response.output_item.done', 'response.completed',
    ]);
    expect(stream[7]!.data.item).toMatchObject({ type: 'function_call', call_id: 'call_1', name: 'exec_command', arguments: '{"cmd":"ls"}' });
    expect(stream.at(-1)!.data.response).toMatchObject({ status: 'completed', usage: { input_tokens: 14, input_tokens_details: { cached_tokens: 4 }, output_tokens: 3, total_tokens: 17 } });
  });

  it('answers errors with an OpenAI error body, or the turn\'s own body', async () => {
    const body = { error: { type: 'usage_limit_reached', resets_at: 1_800_000_000 } };
    api = await createResponsesEmulator({ script: [{ status: 401 }, { status: 429, body }] });
    const refused = await post(`${api.url}/v1/responses`, {});
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { code: 'invalid_api_key' } });
    expect(await (await post(`${api.url}/v1/responses`, {})).json()).toEqual(body);
  });

  it('builds the -c flags that point codex at it', () => {
    expect(codexProviderArgs('http://127.0.0.1:9', { envKey: 'K', maxRetries: 0 })).toEqual([
      '-c', 'model_provider=emulator',
      '-c', 'model_providers.emulator={name="emulator",base_url="http://127.0.0.1:9/v1",wire_api="responses",env_key="K",request_max_retries=0,stream_max_retries=0}',
    ]);
  });
});
