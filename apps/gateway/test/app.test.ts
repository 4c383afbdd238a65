import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildGateway } from '../src/app.ts';

describe('gateway', () => {
  it('answers /healthz', async () => {
    const app = buildGateway({ logger: pino({ level: 'silent' }) });
    const response = await app.inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });
});
