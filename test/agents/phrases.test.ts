/**
 * The phrases, on what the CLIs print (Claude Code's and Codex's own messages, as their
 * binaries and transcripts hold them) and on what a task's output says in passing.
 */
import { describe, expect, it } from 'vitest';
import { isInputPrompt, mentionsAuthFailure, mentionsRateLimit } from '../../src/agents/parsers/phrases.js';

describe('mentionsRateLimit', () => {
  it.each([
    "You've hit your session limit · resets 5pm (Australia/Brisbane)",
    "You've hit your weekly limit · resets Sep 24 at 3pm (Australia/Brisbane)",
    'Claude AI usage limit reached|1800000000',
    '5-hour limit reached ∙ resets 3pm',
    'API Error: Request rejected (429) · Number of request tokens has exceeded your per-minute rate limit',
    'You’ve hit your usage limit. Visit https://chatgpt.com/settings/usage to purchase more credits or try again at 9:03 AM.',
    'exceeded retry limit, last status: 429 Too Many Requests, request id: req_1',
    '[API Error: You have exhausted your capacity on this model. (Status: RESOURCE_EXHAUSTED)]',
    'You exceeded your current quota, please check your plan and billing details.',
    'spend limit reached · resets Aug 8 · request an increase',
  ])('%s', (text) => {
    expect(mentionsRateLimit(text)).toBe(true);
  });

  it.each([
    'Added a rate limiter to the API client.',
    'The limit of 429 items per page is enforced.',
    'I hit the limit of what the tests cover.',
    'usage: limit [n]',
  ])('not: %s', (text) => {
    expect(mentionsRateLimit(text)).toBe(false);
  });
});

describe('mentionsAuthFailure', () => {
  it.each([
    'Invalid API key · Fix external API key',
    'API Error: 401 Invalid API key · Please run /login',
    'Not logged in · Please run /login',
    'Session expired. Please run /login to sign in again.',
    'Failed to authenticate. API Error: 403 permission_error',
    'unexpected status 401 Unauthorized: Incorrect API key provided: sk-x***.',
    'Missing environment variable: `OPENAI_API_KEY`.',
    'Your access token could not be refreshed because your refresh token was already used. Please log out and sign in again.',
    'Please set an Auth method in your settings.json',
    '[API Error: API key not valid. Please pass a valid API key.]',
  ])('%s', (text) => {
    expect(mentionsAuthFailure(text)).toBe(true);
  });

  it.each([
    'Added a login page and an API key field.',
    'The tests cover 401 handling.',
    'Set OPENAI_API_KEY in your shell profile.',
  ])('not: %s', (text) => {
    expect(mentionsAuthFailure(text)).toBe(false);
  });
});

describe('isInputPrompt', () => {
  it('takes a prompt left open, not one answered or a question in prose', () => {
    expect(isInputPrompt('Run shell command? (Y)es/(N)o/(D)on\'t ask again [Yes]: ')).toBe(true);
    expect(isInputPrompt('Run shell command? (Y)es/(N)o/(D)on\'t ask again [Yes]: n')).toBe(false);
    expect(isInputPrompt('Continue? (y/n)')).toBe(true);
    expect(isInputPrompt('Do you want to proceed?')).toBe(true);
    expect(isInputPrompt('? Which template would you like to use? ›')).toBe(true);
    expect(isInputPrompt('Should the cache be per user? I made it per user.')).toBe(false);
    expect(isInputPrompt('?? untracked.txt')).toBe(false);
  });
});
