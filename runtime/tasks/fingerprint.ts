/**
 * Ids as 96-bit fingerprints (decision 0071). Tasks never need an id's text: they deduplicate ids,
 * join records on them and route records by them. A fingerprint does all three in 12 bytes on the
 * wire and two numbers in a typed array, where the id itself is a 30–40 character string and a heap
 * object. At 96 bits, two distinct ids of the same kind collide with a probability of about n²/2⁹⁷
 * for n ids alive at once: 10⁷ live ids give 6·10⁻¹⁶, far below any other cause of a wrong count.
 *
 * In records a fingerprint is a 12-character string of char codes 0–255 (one byte each), so records
 * keep plain string fields and the state turns it into its two 48-bit halves without hashing again.
 */
export type Fingerprint = string;

export const FINGERPRINT_BYTES = 12;

/** One murmur3 (x86, 32-bit) style round; each lane has its own seed, so the lanes are independent hashes. */
function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finish(h: number, length: number): number {
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The fingerprint of an id (its UTF-16 code units, two per round). */
export function fingerprint(id: string): Fingerprint {
  let a = 0x9747b28c;
  let b = 0x2f6d1b3a;
  let c = 0x5bd1e995;
  const n = id.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const k = id.charCodeAt(i) | (id.charCodeAt(i + 1) << 16);
    a = mix(a, k);
    b = mix(b, k);
    c = mix(c, k);
  }
  if (i < n) {
    const k = id.charCodeAt(i);
    a = mix(a, k);
    b = mix(b, k);
    c = mix(c, k);
  }
  a = finish(a, n);
  b = finish(b, n);
  c = finish(c, n);
  return String.fromCharCode(a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255, b >>> 24, (b >>> 16) & 255, (b >>> 8) & 255, b & 255, c >>> 24, (c >>> 16) & 255, (c >>> 8) & 255, c & 255);
}

/** The first 48 bits of a fingerprint, as an exact integer. */
export function fingerprintHi(fp: Fingerprint): number {
  return ((fp.charCodeAt(0) * 256 + fp.charCodeAt(1)) * 256 + fp.charCodeAt(2)) * 0x100_0000 + ((fp.charCodeAt(3) << 16) | (fp.charCodeAt(4) << 8) | fp.charCodeAt(5));
}

/** The last 48 bits of a fingerprint, as an exact integer. */
export function fingerprintLo(fp: Fingerprint): number {
  return ((fp.charCodeAt(6) * 256 + fp.charCodeAt(7)) * 256 + fp.charCodeAt(8)) * 0x100_0000 + ((fp.charCodeAt(9) << 16) | (fp.charCodeAt(10) << 8) | fp.charCodeAt(11));
}

/** The fingerprint whose halves are `hi` and `lo` (the inverse of the two above). */
export function fingerprintOf(hi: number, lo: number): Fingerprint {
  const hiTop = Math.floor(hi / 0x100_0000);
  const hiLow = hi - hiTop * 0x100_0000;
  const loTop = Math.floor(lo / 0x100_0000);
  const loLow = lo - loTop * 0x100_0000;
  return String.fromCharCode(
    hiTop >>> 16, (hiTop >>> 8) & 255, hiTop & 255, hiLow >>> 16, (hiLow >>> 8) & 255, hiLow & 255,
    loTop >>> 16, (loTop >>> 8) & 255, loTop & 255, loLow >>> 16, (loLow >>> 8) & 255, loLow & 255,
  );
}
