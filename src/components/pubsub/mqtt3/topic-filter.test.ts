import { topicMatches, unshared } from './topic-filter';

describe('mqtt3 topic filters', () => {
  it.each([
    ['a/+/c', 'a/b/c', true],
    ['a/+/c', 'a/b/d', false],
    ['a/+/c', 'a/b/x/c', false],
    ['a/+', 'a/', true],
    ['+/+', '/x', true],
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['a/#', 'ab', false],
    ['#', 'a/b', true],
    ['#', '$SYS/x', false],
    ['+/x', '$SYS/x', false],
    ['$SYS/#', '$SYS/x', true],
    ['a/b', 'a/b', true],
    ['a/b', 'a/b/c', false],
  ])('%s matches %s: %s', (filter, topic, want) => {
    expect(topicMatches(filter, topic)).toBe(want);
  });

  it('strips a shared-subscription prefix', () => {
    expect(unshared('$share/g1/a/+/c')).toBe('a/+/c');
    expect(unshared('a/b')).toBe('a/b');
    expect(unshared('$share/g1')).toBe('$share/g1');
  });
});
