import { describe, expect, it } from 'vitest';
import { switchValue } from '../src/settings-commands.ts';

describe('settings commands', () => {
  it('reads on/off and refuses anything else, naming the setting', () => {
    expect(switchValue('four-eyes', 'on')).toBe(true);
    expect(switchValue('four-eyes', ' OFF ')).toBe(false);
    expect(switchValue('four-eyes', 'false')).toBe(false);
    expect(() => switchValue('four-eyes', 'maybe')).toThrow("four-eyes must be on or off, not 'maybe'");
  });
});
