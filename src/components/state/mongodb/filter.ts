// Dapr query -> MongoDB filter/sort, as contrib's mongodb_query.go: fields live under "value.".
import type { Filter, ParsedQuery } from '../query';
import type { FindOptions, MongoDoc } from './port';

const OPS: Record<string, string> = { EQ: '$eq', NEQ: '$ne', GT: '$gt', GTE: '$gte', LT: '$lt', LTE: '$lte' };

export function toMongoFilter(f: Filter): MongoDoc {
  switch (f.op) {
    case 'AND':
      return { $and: f.filters.map(toMongoFilter) };
    case 'OR':
      return { $or: f.filters.map(toMongoFilter) };
    case 'IN':
      return { [`value.${f.key}`]: { $in: f.values } };
    default:
      return { [`value.${f.key}`]: { [OPS[f.op]!]: f.value } };
  }
}

export function toFindOptions(q: ParsedQuery): FindOptions {
  const sort: [string, 1 | -1][] = q.sort.map((s) => [`value.${s.key}`, s.order === 'DESC' ? -1 : 1]);
  sort.push(['_id', 1]);
  return { sort, skip: q.offset || undefined, limit: q.limit || undefined };
}

/** Documents whose _ttl has not passed (Mongo's TTL reaper runs only about once a minute). */
export const liveFilter = (now: Date): MongoDoc => ({ $or: [{ _ttl: null }, { _ttl: { $gte: now } }] });
