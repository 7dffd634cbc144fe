/**
 * Durations in the AdPipeline API are strings such as `24h`, `1h30m` or `500ms` (the CRD's pattern
 * and CEL's `duration()` accept exactly these units), converted once, here, for operator and runtime.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string): number {
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== text) {
    throw new Error(`'${text}' is not a duration: use a number and a unit (ms, s, m, h), e.g. 24h or 1h30m`);
  }
  return parts.reduce((total, [, amount, unit]) => total + Number(amount) * UNIT_MS[unit!]!, 0);
}
