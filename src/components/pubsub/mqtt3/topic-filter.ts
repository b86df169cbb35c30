// MQTT topic filters (3.1.1 §4.7): `+` is one level, a trailing `#` the rest (parent included);
// a `$share/<group>/` prefix is a shared subscription whose messages carry the bare topic.
// Used to route an incoming message, which names its concrete topic, to the subscription it matched.

/** The filter a shared subscription ("$share/group/a/+") applies to topics ("a/+"). */
export function unshared(filter: string): string {
  const m = /^\$share\/[^/]+\/(.+)$/.exec(filter);
  return m ? m[1]! : filter;
}

/** Whether `topic` (concrete) matches `filter` (may hold + and #). */
export function topicMatches(filter: string, topic: string): boolean {
  // Wildcards at the start never match the broker's own "$SYS/..." style topics (§4.7.2).
  if (topic.startsWith('$') && /^[+#]/.test(filter)) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#' && i === f.length - 1) return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
