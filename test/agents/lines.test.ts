import { describe, expect, it } from 'vitest';
import { createParser } from '../../src/agents/parsers/index.js';
import { cleanLine, parseJsonObject } from '../../src/agents/parsers/lines.js';
import { AGENT_PARSERS } from '../../src/agents/types.js';
import { recording } from './recordings.js';

describe('cleanLine', () => {
  it('drops carriage returns, terminal escapes and the surrounding blanks', () => {
    expect(cleanLine('{"a":1}\r')).toBe('{"a":1}');
    expect(cleanLine('\u001b[?25h')).toBe('');
    expect(cleanLine('\u001b[1;32mok\u001b[0m  ')).toBe('ok');
    expect(cleanLine('\u001b]0;title\u0007text')).toBe('text');
    expect(cleanLine('a\rb')).toBe('ab');
  });
});

describe('parseJsonObject', () => {
  it('reads an object, also after a stray prefix', () => {
    expect(parseJsonObject('{"type":"x"}')).toEqual({ type: 'x' });
    expect(parseJsonObject('garbage{"type":"x"}')).toEqual({ type: 'x' });
  });

  it('is null for what is not a whole JSON object', () => {
    for (const line of ['', 'plain text', '[1,2]', '"str"', '42', 'null', '{"type":', '{"a":1', '{"a":1}}', '{not json}']) {
      expect(parseJsonObject(line)).toBeNull();
    }
  });
});

describe('every parser', () => {
  const garbage = [
    '', '\r', '\u001b[?25h', '{', '}', '{}', '[]', 'null', '{"type":null}', '{"type":42}', '{"type":"result"}',
    '{"type":"result","usage":"lots","total_cost_usd":"1","is_error":"yes"}', '{"type":"assistant","message":[]}',
    '{"type":"assistant","message":{"id":7,"usage":{"input_tokens":"9"}}}', '{"type":"system","subtype":"api_retry","error_status":"429"}',
    '{"type":"item.completed","item":null}', '{"type":"turn.completed","usage":[1]}', '{"type":"init","session_id":5}',
    '{"type":"message","role":"assistant","content":{"x":1},"delta":true}', '{"type":"result","status":"error","error":"boom","stats":[]}',
    '{"type":"request_user_input","questions":"?"}', '{"type":"stream_event","event":{"type":"message_delta","usage":{"output_tokens":"x"}}}',
    '\u0000\u0001\u0002', 'x'.repeat(200_000), `{"type":"assistant","message":{"content":"${'y'.repeat(100_000)}"}}`,
  ];

  it.each([...AGENT_PARSERS])('%s never throws, on garbage or on other CLIs\' output', (kind) => {
    const parser = createParser(kind);
    const others = ['claude-text.jsonl', 'claude-bash-commit.jsonl', 'codex-exec-commit.jsonl', 'claude-pty-text.raw'].flatMap(recording);
    let seed = 7;
    const random = () => {
      seed = (seed * 48_271) % 2_147_483_647;
      return seed / 2_147_483_647;
    };
    // Lines cut at random places, as a PTY read might hand them over.
    const cut = others.map((line) => line.slice(0, Math.floor(random() * line.length)));
    for (const line of [...garbage, ...cut, ...others]) {
      expect(() => parser.push(line, 1)).not.toThrow();
    }
    const facts = parser.facts();
    expect(typeof facts.events).toBe('number');
    expect(Number.isFinite(facts.usage.inputTokens)).toBe(true);
  });

  it.each([...AGENT_PARSERS])('%s hands out copies of its facts', (kind) => {
    const parser = createParser(kind);
    const facts = parser.facts();
    facts.usage.inputTokens = 99;
    expect(parser.facts().usage.inputTokens).toBe(0);
    expect(parser.kind).toBe(kind);
  });
});
