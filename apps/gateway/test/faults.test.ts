import { describe, expect, it } from 'vitest';
import { parseFaults } from '../src/faults.ts';

describe('fault tags', () => {
  it('reads the drill tags of a version', () => {
    expect(
      parseFaults({
        'shepherd.fault.latency_ms': '250',
        'shepherd.fault.error_rate': '0.2',
        'shepherd.fault.prediction_shift': '-0.3',
        owner: 'alice',
      }),
    ).toEqual({ faults: { latencyMs: 250, errorRate: 0.2, predictionShift: -0.3 }, problems: [] });
  });

  it('has no faults without tags, and reports invalid tags instead of guessing', () => {
    expect(parseFaults({})).toEqual({ faults: undefined, problems: [] });
    const parsed = parseFaults({ 'shepherd.fault.error_rate': '1.5', 'shepherd.fault.latency_ms': 'slow' });
    expect(parsed.faults).toBeUndefined();
    expect(parsed.problems).toEqual([
      'shepherd.fault.latency_ms="slow" is not a number in [0, 60000]; ignored',
      'shepherd.fault.error_rate="1.5" is not a number in [0, 1]; ignored',
    ]);
  });
});
