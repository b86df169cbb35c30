import { isAllowed, mayPublish, maySubscribe, scopedTopics, topicScopes } from './scopes';

describe('scope strings (daprd GetScopedTopics)', () => {
  it('collects the topics of every entry for the app, spaces dropped, duplicates once', () => {
    expect(scopedTopics('app1=t1, t2;app2=t3; app1 = t2,t4', 'app1')).toEqual(['t1', 't2', 't4']);
    expect(scopedTopics('app1=t1;app2=t3', 'app2')).toEqual(['t3']);
  });

  it('an app that is not listed, an unset or empty value, or an entry without "=": no scope', () => {
    expect(scopedTopics('app1=t1', 'app3')).toEqual([]);
    expect(scopedTopics(undefined, 'app1')).toEqual([]);
    expect(scopedTopics('', 'app1')).toEqual([]);
    expect(scopedTopics('app1;app2=t', 'app1')).toEqual([]);
  });

  it('"app=" lists the app with no topic: a scope nothing matches', () => {
    expect(scopedTopics('app1=t1;app2=', 'app2')).toEqual(['']);
  });

  it('property names are matched case-insensitively', () => {
    const s = topicScopes({ PUBLISHINGSCOPES: 'a=x', allowedtopics: 'x,y', ProtectedTopics: 'p' }, 'a');
    expect(s).toEqual({ allowed: ['x', 'y'], protected: ['p'], publishing: ['x'], subscribing: [] });
  });
});

describe('topic access (daprd IsOperationAllowed)', () => {
  it('no scoping metadata: every topic', () => {
    expect(mayPublish({}, 'a', 'anything')).toBe(true);
    expect(maySubscribe({}, 'a', 'anything')).toBe(true);
  });

  it('allowedTopics gate every app, listed in a scope or not', () => {
    const props = { allowedTopics: 'a,b', publishingScopes: 'app1=a,c' };
    expect([mayPublish(props, 'app1', 'a'), mayPublish(props, 'app1', 'b'), mayPublish(props, 'app1', 'c')]).toEqual([true, false, false]);
    expect([mayPublish(props, 'app9', 'b'), mayPublish(props, 'app9', 'z')]).toEqual([true, false]);
  });

  it('publishingScopes limit the listed apps only; an empty list allows nothing', () => {
    const props = { publishingScopes: 'app1=t1;app2=' };
    expect([mayPublish(props, 'app1', 't1'), mayPublish(props, 'app1', 't2')]).toEqual([true, false]);
    expect([mayPublish(props, 'app2', 't1'), mayPublish(props, 'app2', 't2')]).toEqual([false, false]);
    expect(mayPublish(props, 'app3', 't2')).toBe(true);
  });

  it('subscriptionScopes work the same way and do not limit publishing', () => {
    const props = { subscriptionScopes: 'app1=t1' };
    expect([maySubscribe(props, 'app1', 't1'), maySubscribe(props, 'app1', 't2'), mayPublish(props, 'app1', 't2')]).toEqual([true, false, true]);
  });

  it('protected topics need an explicit scope; other topics stay open to unlisted apps', () => {
    const props = { protectedTopics: 'secret', subscriptionScopes: 'app1=secret', publishingScopes: 'app2=other' };
    expect(maySubscribe(props, 'app1', 'secret')).toBe(true);
    expect(maySubscribe(props, 'app3', 'secret')).toBe(false);
    expect(mayPublish(props, 'app1', 'secret')).toBe(false);
    expect(mayPublish(props, 'app3', 'open')).toBe(true);
    // app2's own scope limits it to "other" whether a topic is protected or not
    expect([mayPublish(props, 'app2', 'other'), mayPublish(props, 'app2', 'open')]).toEqual([true, false]);
  });

  it('isAllowed takes the scope to apply', () => {
    const s = topicScopes({ protectedTopics: 'p' }, 'x');
    expect([isAllowed('p', s, []), isAllowed('p', s, ['p']), isAllowed('q', s, ['p'])]).toEqual([false, true, false]);
  });
});
