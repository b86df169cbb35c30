import { RouteError, Router } from './routing';

describe('routing rules (CEL over event)', () => {
  const router = new Router(
    [
      { match: 'event.type == "widget"', path: '/widgets' },
      { match: 'event.data.size > 10', path: '/big' },
    ],
    '/default',
  );

  it('takes the first rule that holds, else the default', () => {
    expect(router.route({ type: 'widget', data: { size: 50 } })).toBe('/widgets');
    expect(router.route({ type: 'gadget', data: { size: 50 } })).toBe('/big');
    expect(router.route({ type: 'gadget', data: { size: 1 } })).toBe('/default');
  });

  it('treats a rule that fails on an event (missing field) as not matching', () => {
    expect(router.route({ type: 'gadget' })).toBe('/default');
    expect(new Router([{ match: 'event.data.size > 10', path: '/big' }]).route({})).toBeUndefined();
  });

  it('an empty match is a catch-all; a broken expression is refused up front', () => {
    expect(new Router([{ match: '', path: '/all' }]).route({})).toBe('/all');
    expect(() => new Router([{ match: 'event.type ==', path: '/x' }])).toThrow(RouteError);
  });
});
