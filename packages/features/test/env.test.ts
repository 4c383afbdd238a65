import { describe, expect, it } from 'vitest';
import { loadIngestEnv } from '../src/env.ts';

const base = { DATABASE_URL: 'postgres://shepherd@127.0.0.1:5433/shepherd' };

describe('ingestion config', () => {
  it("reads FEATURE_VIEWS as 'all' or a list of names, each optionally @version", () => {
    expect(loadIngestEnv(base).FEATURE_VIEWS).toBe('all');
    expect(
      loadIngestEnv({ ...base, FEATURE_VIEWS: 'card_transactions@2, merchants,' }).FEATURE_VIEWS,
    ).toEqual([{ name: 'card_transactions', version: 2 }, { name: 'merchants' }]);
  });

  it('names FEATURE_VIEWS when an entry is not a view name', () => {
    expect(() => loadIngestEnv({ ...base, FEATURE_VIEWS: 'card_transactions,Bad-Name' })).toThrow(
      /FEATURE_VIEWS[\s\S]*comma-separated list of view names/,
    );
    expect(() => loadIngestEnv({ ...base, FEATURE_VIEWS: ' , ' })).toThrow(/FEATURE_VIEWS/);
  });
});
