import { describe, expect, it } from 'vitest';
import { loadApiEnv } from '../src/env.ts';

describe('api config', () => {
  it('uses embedded defaults when nothing is set', () => {
    const env = loadApiEnv({});
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.API_PORT).toBe(8080);
    expect(env.KAFKA_BROKERS).toEqual(['127.0.0.1:9092']);
  });

  it('names the variable when DATABASE_URL is malformed', () => {
    expect(() => loadApiEnv({ DATABASE_URL: 'mysql//nope' })).toThrow(
      /DATABASE_URL: must be a URL like postgres:/,
    );
  });

  it('names every bad variable at once', () => {
    expect(() => loadApiEnv({ API_PORT: '99999', TEMPORAL_ADDRESS: 'localhost' })).toThrow(
      /API_PORT[\s\S]*TEMPORAL_ADDRESS: must be host:port/,
    );
  });

  it('reads OIDC_ALLOWED_ALGS as a list, and names an algorithm it does not know', () => {
    expect(loadApiEnv({}).OIDC_ALLOWED_ALGS).toEqual(['RS256', 'ES256']);
    expect(loadApiEnv({ OIDC_ALLOWED_ALGS: ' ES256 ,RS256,' }).OIDC_ALLOWED_ALGS).toEqual(['ES256', 'RS256']);
    expect(() => loadApiEnv({ OIDC_ALLOWED_ALGS: 'RS256,none' })).toThrow(
      /OIDC_ALLOWED_ALGS[\s\S]*each must be one of RS256/,
    );
    expect(() => loadApiEnv({ OIDC_ALLOWED_ALGS: ' , ' })).toThrow(/OIDC_ALLOWED_ALGS/);
  });
});
