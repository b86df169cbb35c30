// The method of an invocation, checked and cleaned as daprd's method.NormalizeMethod does before it
// dispatches: no '#', '?', NUL or control characters, and no way to climb out of the app's root
// with '.' / '..' segments. The method stays as the caller spelt it otherwise: an HTTP caller's
// percent-encoding reaches the app unchanged (daprd decodes first; '%2e%2e' counts as '..' here too).

const decode = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // a stray '%' is just a character
  }
};

/** The cleaned method, or throws an Error whose message says what is wrong with it. */
export function normalizeMethod(method: string): string {
  const decoded = decode(method);
  for (const s of [method, decoded]) {
    const bad = /[#?\0]/.exec(s);
    if (bad) throw new Error(`invalid method: method contains forbidden character: ${JSON.stringify(method)}`);
    // eslint-disable-next-line no-control-regex
    const ctl = /[\x01-\x1f\x7f]/.exec(s);
    if (ctl) throw new Error(`invalid method: method contains control character at position ${ctl.index}: ${JSON.stringify(method)}`);
  }
  const trailing = method.endsWith('/') && method.length > 1;
  const out: string[] = [];
  for (const seg of method.split('/')) {
    const d = decode(seg);
    if (seg === '' || d === '.') continue;
    if (d === '..') out.pop();
    else out.push(seg);
  }
  const cleaned = out.join('/');
  return trailing && cleaned !== '' ? `${cleaned}/` : cleaned;
}
