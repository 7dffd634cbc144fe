import type { Source } from '../generator/contract.js';

/**
 * The message key: the record's id, so that every copy of an id lands on the same partition (the
 * pipeline then sees duplicates in order). For a message with several records (a JSON array, a
 * multi-line CSV message) the first record's id; null when there is none (broken records).
 */
const IMPRESSION_ID = /"impression_id"\s*:\s*"((?:[^"\\]|\\.)*)"/;

export function keyOfJson(text: string): string | null {
  const m = IMPRESSION_ID.exec(text);
  if (!m) return null;
  if (!m[1]!.includes('\\')) return m[1]!;
  try {
    return JSON.parse(`"${m[1]}"`) as string;
  } catch {
    return null;
  }
}

/** First field of the first CSV line (RFC 4180 quoting), or null when it is empty. */
export function keyOfCsv(text: string, delimiter = ','): string | null {
  if (text.startsWith('"')) {
    let value = '';
    for (let i = 1; i < text.length; i++) {
      const ch = text[i]!;
      if (ch !== '"') value += ch;
      else if (text[i + 1] === '"') {
        value += '"';
        i++;
      } else return value || null;
    }
    return null; // unterminated quote
  }
  let end = text.length;
  for (const stop of [delimiter, '\n', '\r']) {
    const at = text.indexOf(stop);
    if (at >= 0 && at < end) end = at;
  }
  return end > 0 ? text.slice(0, end) : null;
}

export function keyOfText(source: Exclude<Source, 'bidRequests'>, text: string): string | null {
  return source === 'impressions' ? keyOfJson(text) : keyOfCsv(text);
}
