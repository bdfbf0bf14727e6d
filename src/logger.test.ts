import { describe, expect, it } from 'vitest';
import { runtimeEnv } from './config.js';
import { prettyLogs } from './logger.js';

describe('log format', () => {
  it('is readable in a terminal outside production, JSON when piped and always in production', () => {
    expect(prettyLogs({ tty: true, env: undefined })).toBe(true);
    expect(prettyLogs({ tty: true, env: 'development' })).toBe(true);
    expect(prettyLogs({ tty: true, env: 'test' })).toBe(true);
    expect(prettyLogs({ tty: false, env: 'development' })).toBe(false);
    expect(prettyLogs({ tty: true, env: 'production' })).toBe(false);
  });
});

describe('the environment the logger reads', () => {
  it('is NODE_ENV as the configuration reads it, production when unreadable', () => {
    expect(runtimeEnv({})).toBe('development');
    expect(runtimeEnv({ NODE_ENV: 'test' })).toBe('test');
    expect(runtimeEnv({ NODE_ENV: 'production' })).toBe('production');
    expect(runtimeEnv({ NODE_ENV: 'prod' })).toBe('production');
  });
});
