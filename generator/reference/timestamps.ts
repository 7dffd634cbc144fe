/**
 * Event timestamps as the contract allows them: ISO-8601 with an offset (`Z` or `±HH:MM`), or epoch
 * millis. An ISO time without an offset is not allowed (its instant would depend on a guess).
 */
const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;
const DIGITS = /^\d{1,16}$/;

/** Epoch millis of an ISO-8601 string with offset, or undefined when it is not one. */
export function parseIsoWithOffset(text: string): number | undefined {
  const m = ISO.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  const millis = frac ? Math.floor(Number(`0.${frac}`) * 1000 + 1e-9) : 0;
  const local = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC rolls 31 February over into March; a real calendar date survives the round trip.
  if (new Date(local).getUTCDate() !== day) return undefined;
  let offsetMinutes = 0;
  if (zone !== 'Z') {
    const sign = zone!.startsWith('-') ? -1 : 1;
    const oh = Number(zone!.slice(1, 3));
    const om = Number(zone!.slice(4, 6));
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = sign * (oh * 60 + om);
  }
  return local - offsetMinutes * 60_000;
}

/**
 * A timestamp field's value: a JSON number or a text. Numbers and all-digit texts are epoch millis;
 * other texts must be ISO-8601 with offset. Undefined means the value is not a timestamp.
 */
export function parseTimestamp(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  if (DIGITS.test(value)) return Number(value);
  return parseIsoWithOffset(value);
}
