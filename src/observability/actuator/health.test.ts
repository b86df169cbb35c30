import { aggregate, startupHealth } from './health';

describe('actuator health aggregation', () => {
  const up = { status: 'UP' as const };
  const init = { status: 'INIT' as const };
  const down = { status: 'DOWN' as const, details: { reason: 'x' } };

  it.each([
    [{}, 'UP'],
    [{ a: up, b: up }, 'UP'],
    [{ a: up, b: init }, 'INIT'],
    [{ a: init, b: down }, 'DOWN'],
    [{ a: down, b: init, c: up }, 'DOWN'],
  ])('%j → %s', (components, status) => {
    expect(aggregate(components)).toEqual({ status, components });
  });

  it("reports runtime_startup as Layotto: INIT starting, UP, DOWN with the reason (which wins)", () => {
    expect(startupHealth(false, undefined)).toEqual({ status: 'INIT', details: { reason: 'starting' } });
    expect(startupHealth(true, undefined)).toEqual({ status: 'UP', details: { reason: '' } });
    expect(startupHealth(true, 'shutting down')).toEqual({ status: 'DOWN', details: { reason: 'shutting down' } });
  });
});
