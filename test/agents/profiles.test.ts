import { describe, expect, it } from 'vitest';
import { buildArgv, priceOf, resolveProfile } from '../../src/agents/profiles.js';

describe('agent profiles', () => {
  it('builds each built-in CLI\'s argv with the prompt as one argument that cannot be taken for a flag', () => {
    const prompt = '--help me; rm -rf / "quoted"';
    expect(buildArgv(resolveProfile('claude'), { prompt, model: 'sonnet', args: ['--max-turns', '30'] })).toEqual([
      'claude', '-p', '--output-format', 'stream-json', '--verbose', '--model', 'sonnet', '--max-turns', '30', '--', prompt,
    ]);
    expect(buildArgv(resolveProfile('codex'), { prompt })).toEqual(['codex', 'exec', '--json', '--', prompt]);
    expect(buildArgv(resolveProfile('gemini'), { prompt, model: 'gemini-2.5-pro' })).toEqual([
      'gemini', '--output-format', 'stream-json', '--model', 'gemini-2.5-pro', `--prompt=${prompt}`,
    ]);
    expect(buildArgv(resolveProfile('aider'), { prompt }).at(-1)).toBe(`--message=${prompt}`);
  });

  it('takes a built-in\'s overrides from the config, task args after the profile\'s', () => {
    const profile = resolveProfile('claude', { claude: { command: '/opt/claude/bin/claude', args: ['--allowedTools', 'Bash'], env: { DISABLE_TELEMETRY: '1' }, provider: 'anthropic-team' } });
    expect(profile).toMatchObject({ command: '/opt/claude/bin/claude', provider: 'anthropic-team', parser: 'claude-stream-json', env: { DISABLE_TELEMETRY: '1' } });
    expect(buildArgv(profile, { prompt: 'p', args: ['--max-turns', '3'] }).slice(5)).toEqual(['--allowedTools', 'Bash', '--max-turns', '3', '--', 'p']);
  });

  it('defines a custom profile from an argv template with {prompt} and a parser', () => {
    const agents = { mine: { command: 'my-agent', args: ['run', '--task={prompt}', '--json'], parser: 'codex-json' as const } };
    const profile = resolveProfile('mine', agents);
    expect(profile).toMatchObject({ parser: 'codex-json', provider: 'mine', style: 'template' });
    expect(buildArgv(profile, { prompt: 'fix it', args: ['--fast'] })).toEqual(['my-agent', 'run', '--task=fix it', '--json', '--fast']);
    expect(() => resolveProfile('nope', agents)).toThrow(expect.objectContaining({ code: 'TASK_INVALID' }));
    expect(() => resolveProfile('bad', { bad: { command: 'x', args: ['no placeholder'] } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('prices tokens from the profile\'s table, cache reads at the input price unless given', () => {
    const prices = { m: { inputPerMTok: 3, outputPerMTok: 15 } };
    const usage = { inputTokens: 1_000_000, outputTokens: 100_000, cacheReadTokens: 500_000, cacheWriteTokens: 0 };
    expect(priceOf({ prices }, 'm', usage)).toBeCloseTo(3 + 1.5 + 1.5);
    expect(priceOf({ prices: { m: { ...prices.m, cacheReadPerMTok: 0.3 } } }, 'm', usage)).toBeCloseTo(3 + 1.5 + 0.15);
    expect(priceOf({ prices }, 'other', usage)).toBeNull();
    expect(priceOf({ prices }, null, usage)).toBeNull();
  });
});
