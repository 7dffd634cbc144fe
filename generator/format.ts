/** Text forms of values as real feeds write them. */

/**
 * The timestamp of deliberately future records: far enough ahead to stay "more than 1h in the
 * future" of any real clock, so the output never depends on when it was generated.
 */
export const FAR_FUTURE_TS = Date.UTC(2100, 0, 1);

/** UTC offsets seen in feeds, in minutes, with their ISO suffix. */
export const OFFSETS: readonly (readonly [string, number])[] = [
  ['+00:00', 0],
  ['+01:00', 60],
  ['+02:00', 120],
  ['+05:30', 330],
  ['+09:00', 540],
  ['-03:30', -210],
  ['-05:00', -300],
  ['-08:00', -480],
];

/** ISO-8601 in UTC with `Z`; milliseconds left out when asked and zero. */
export function isoZ(ms: number, millis = true): string {
  const text = new Date(ms).toISOString();
  return millis || ms % 1000 !== 0 ? text : `${text.slice(0, 19)}Z`;
}

/** ISO-8601 local time with the given offset, e.g. `2026-01-05T11:30:00.000+05:30` for 06:00Z. */
export function isoWithOffset(ms: number, suffix: string, offsetMinutes: number): string {
  return new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 23) + suffix;
}

const NEEDS_QUOTES = /[",\r\n]/;

/** An RFC 4180 field: quoted when it must be (or when asked), inner quotes doubled. */
export function csvField(value: string, forceQuotes = false): string {
  return forceQuotes || NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}
