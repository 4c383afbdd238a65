import { describe, expect, it } from 'vitest';
import type { RuntimeConfig } from './config.ts';
import { runbookUrl } from './links.ts';

const config = (docsBaseUrl: string): RuntimeConfig => ({
  apiBaseUrl: '',
  mlflowUiUrl: 'http://127.0.0.1:5500',
  temporalUiUrl: 'http://127.0.0.1:8233',
  temporalNamespace: 'default',
  docsBaseUrl,
  pollIntervalMs: 5000,
});

describe('runbookUrl', () => {
  it('links a repository path under the docs base URL', () => {
    expect(
      runbookUrl(config('https://github.com/acme/shepherd/blob/main'), 'docs/runbooks/failed-rollout.md'),
    ).toBe('https://github.com/acme/shepherd/blob/main/docs/runbooks/failed-rollout.md');
    expect(runbookUrl(config('https://docs.example'), '/docs/runbooks/a b.md')).toBe(
      'https://docs.example/docs/runbooks/a%20b.md',
    );
  });

  it('has no link without a base URL, and keeps an absolute URL as it is', () => {
    expect(runbookUrl(config(''), 'docs/runbooks/slo-burn.md')).toBeUndefined();
    expect(runbookUrl(config(''), 'https://wiki.example/runbook')).toBe('https://wiki.example/runbook');
  });
});
