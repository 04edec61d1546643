import { describe, expect, it } from 'vitest';
import { formatCount, formatDuration, formatRate, percent } from '../../../renderer/src/lib/format';

describe('formatting', () => {
  it('formats counts, rates and durations', () => {
    expect(formatCount(123456)).toBe('123,456');
    expect(formatRate(0)).toBe('–');
    expect(formatRate(12.34)).toBe('12.3/s');
    expect(formatRate(1234.6)).toBe('1,235/s');
    expect(formatDuration(null)).toBe('–');
    expect(formatDuration(44.6)).toBe('45 s');
    expect(formatDuration(185)).toBe('3 min 05 s');
    expect(formatDuration(7620)).toBe('2 h 07 min');
  });

  it('computes the percentage, unknown without a total', () => {
    expect(percent(5, null)).toBeUndefined();
    expect(percent(0, 0)).toBe(100);
    expect(percent(1, 4)).toBe(25);
    expect(percent(9, 4)).toBe(100);
  });
});
