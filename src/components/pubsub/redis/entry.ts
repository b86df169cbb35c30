// The stream entry layout daprd uses, so both can share a Redis: field `data` holds the bytes and
// field `metadata` the request metadata as a JSON object of strings. The content type is not
// stored (contrib does not either).
import type { PubSubMessage } from '../types';

/** Field/value pairs for XADD. */
export function entryFields(data: Buffer, metadata: Record<string, string>): (string | Buffer)[] {
  return ['data', data, 'metadata', JSON.stringify(metadata)];
}

/** One entry as ioredis returns it from the *Buffer commands: [id, [field, value, ...]]. */
export type RawEntry = [Buffer, Buffer[]];

export interface StreamEntry {
  id: string;
  message: PubSubMessage;
}

/** Reads an entry; a missing `data` gives empty bytes and unreadable metadata is left out (contrib logs and goes on). */
export function decodeEntry(topic: string, [id, fields]: RawEntry): StreamEntry {
  let data: Buffer = Buffer.alloc(0);
  const metadata: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!.toString('utf8');
    const value = fields[i + 1]!;
    if (name === 'data') data = value;
    else if (name === 'metadata') Object.assign(metadata, parseMetadataField(value));
  }
  return { id: id.toString('utf8'), message: { topic, data, metadata } };
}

function parseMetadataField(raw: Buffer): Record<string, string> {
  try {
    const parsed: unknown = JSON.parse(raw.toString('utf8'));
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') out[k] = v;
    return out;
  } catch {
    return {};
  }
}

const isEntry = (x: unknown): x is [Buffer, Buffer[] | null] => Array.isArray(x) && Buffer.isBuffer(x[0]) && (x[1] === null || Array.isArray(x[1]));

/** An entry list; null stands for an entry that is pending but no longer in the stream (Redis < 7). */
function entryList(x: unknown): (RawEntry | null)[] {
  if (!Array.isArray(x)) return [];
  return x.map((e) => (isEntry(e) && e[1] ? [e[0], e[1]] : null));
}

/** The entries of a one-stream XREADGROUP reply: RESP2 `[[key, entries]]`, or RESP3's map flattened to `[key, entries]`. */
export function readReply(reply: unknown): (RawEntry | null)[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  if (Buffer.isBuffer(reply[0])) return entryList(reply[1]);
  return reply.flatMap((s: unknown) => (Array.isArray(s) ? entryList(s[1]) : []));
}

/** The entries of an XCLAIM reply. */
export const claimReply = entryList;

export interface PendingEntry {
  id: string;
  idleMs: number;
}

/** XPENDING key group start end count: `[[id, consumer, idle, deliveries], ...]`. */
export function pendingReply(reply: unknown): PendingEntry[] {
  if (!Array.isArray(reply)) return [];
  return reply.filter(Array.isArray).map((p: unknown[]) => ({ id: String(p[0]), idleMs: Number(p[2]) }));
}
