// Nesting limit for JSON that callers send. JSON.parse copes with any depth, but JSON.stringify (and
// every recursive walk after it) overflows V8's stack a few thousand levels down, which would turn
// a client's body into an unexpected 500. Go's encoding/json refuses nesting past 10000 with
// "exceeded max depth"; bodies here are held to a lower bound, with the same message.
export const MAX_JSON_DEPTH = 1000;

/** Whether `text` nests arrays/objects deeper than `max` (strings skipped; no full parse). */
export function jsonDepthExceeds(text: string, max = MAX_JSON_DEPTH): boolean {
  if (text.length <= max) return false; // each level takes at least one character
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** JSON.parse that refuses nesting past MAX_JSON_DEPTH with a SyntaxError("exceeded max depth"). */
export function parseJson(text: string): unknown {
  if (jsonDepthExceeds(text)) throw new SyntaxError('exceeded max depth');
  return JSON.parse(text);
}
