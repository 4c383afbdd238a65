import { describe, expect, it } from 'vitest';
import { defaultRolloutSteps } from '@shepherd/contracts/serving';
import { withPromotionGate } from '../src/settings.ts';

describe('withPromotionGate (four-eyes promotion)', () => {
  it('makes a plan without any gate wait for approval before its final step', () => {
    const gated = withPromotionGate(defaultRolloutSteps);
    expect(gated.map((s) => s.manualApproval)).toEqual([false, false, false, true]);
    expect(gated.map((s) => [s.weight, s.bakeSeconds])).toEqual(
      defaultRolloutSteps.map((s) => [s.weight, s.bakeSeconds]),
    );
    // The shared default plan is not changed in place.
    expect(defaultRolloutSteps.every((s) => !s.manualApproval)).toBe(true);
  });

  it('gates a one-step plan before it moves any traffic', () => {
    expect(withPromotionGate([{ weight: 100, bakeSeconds: 0, manualApproval: false }])).toEqual([
      { weight: 100, bakeSeconds: 0, manualApproval: true },
    ]);
  });

  it('keeps a plan that already stops for approval as it is', () => {
    const steps = [
      { weight: 20, bakeSeconds: 60, manualApproval: true },
      { weight: 100, bakeSeconds: 0, manualApproval: false },
    ];
    expect(withPromotionGate(steps)).toEqual(steps);
  });
});
