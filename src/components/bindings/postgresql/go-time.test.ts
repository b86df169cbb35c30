import { goDuration, rfc3339Nano } from './go-time';

describe("Go's time texts", () => {
  it('time.Duration.String', () => {
    expect(goDuration(0)).toBe('0s');
    expect(goDuration(0.0005)).toBe('500ns');
    expect(goDuration(0.85)).toBe('850µs');
    expect(goDuration(1.5)).toBe('1.5ms');
    expect(goDuration(2010)).toBe('2.01s');
    expect(goDuration(63_000)).toBe('1m3s');
    expect(goDuration(3_600_000)).toBe('1h0m0s');
  });

  it('RFC3339Nano trims the fraction', () => {
    expect(rfc3339Nano(new Date('2024-01-02T03:04:05.120Z'))).toBe('2024-01-02T03:04:05.12Z');
    expect(rfc3339Nano(new Date('2024-01-02T03:04:50.000Z'))).toBe('2024-01-02T03:04:50Z');
  });
});
