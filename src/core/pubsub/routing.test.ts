import { RouteError, Router } from './routing';
import { isAllowed, topicScopes } from './scopes';

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

describe('topic scopes (daprd isOperationAllowed)', () => {
  it('allowedTopics gate every app; publishingScopes limit listed apps', () => {
    const s = topicScopes({ allowedTopics: 'a,b', publishingScopes: 'app1=a;app2=' }, 'app1');
    expect(isAllowed('a', s, s.publishing)).toBe(true);
    expect(isAllowed('b', s, s.publishing)).toBe(false);
    expect(isAllowed('c', s, s.publishing)).toBe(false);
    const other = topicScopes({ publishingScopes: 'app1=a' }, 'app3');
    expect(isAllowed('z', other, other.publishing)).toBe(true);
  });

  it('protected topics need an explicit scope', () => {
    const s = topicScopes({ protectedTopics: 'secret', subscriptionScopes: 'app1=secret' }, 'app1');
    expect(isAllowed('secret', s, s.subscribing)).toBe(true);
    const t = topicScopes({ protectedTopics: 'secret' }, 'app2');
    expect(isAllowed('secret', t, t.subscribing)).toBe(false);
    expect(isAllowed('open', t, t.subscribing)).toBe(true);
  });
});
