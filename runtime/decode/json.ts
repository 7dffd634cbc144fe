import type { Impression, InMessage, Item, SourceRef } from '../model.js';
import { arrivalTimes, processingTimeAt, refAt } from '../model.js';
import { canonicalImpressionFields, scanImpression, scanImpressionArray } from './json-scan.js';
import { mayHoldLoneSurrogate, REASON, Rejection, validateImpression, type Fields } from '../stages/validate.js';

export interface JsonSourceOptions {
  /** Source field name → canonical name (contract §4). */
  fieldMapping: Record<string, string>;
}

const OPEN_ARRAY = 0x5b;

/** Applies a field mapping without copying when there is none (the common case). */
function mapper(fieldMapping: Record<string, string>): (object: Fields) => Fields {
  const entries = Object.entries(fieldMapping);
  if (entries.length === 0) return (object) => object;
  return (object) => {
    const mapped: Fields = { ...object };
    for (const [from, to] of entries) {
      if (from in object) mapped[to] = object[from];
    }
    return mapped;
  };
}

/** A bad array element's own JSON text: what the dead-letter topic gets instead of the whole array. */
function elementBytes(element: unknown): Buffer {
  return Buffer.from(JSON.stringify(element) ?? 'null', 'utf8');
}

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Impressions: each message is one JSON object or an array of objects. A message that does not
 * parse is dead-lettered whole; a bad element of an array is dead-lettered alone (its JSON text).
 * Without a field mapping, an object in the subset `scanImpression` accepts (or an array of valid
 * ones) is read straight from the bytes into one reused field bag (no text, no parsed object). Any
 * other message takes the general path: one UTF-8 decode and `JSON.parse`, the parsed object read
 * in place (copied only by a field mapping), the lone-surrogate scan only after a `\u` escape.
 */
export function impressionDecoder(options: JsonSourceOptions): (messages: readonly InMessage[], nowMs: number) => Item<Impression>[] {
  const map = mapper(options.fieldMapping);
  function element(items: Item<Impression>[], value: unknown, raw: Buffer | undefined, ref: SourceRef, now: number, surrogates: boolean): void {
    if (!isObject(value)) {
      items.push({ ok: false, reason: REASON.jsonShape, raw: raw ?? elementBytes(value), ref });
      return;
    }
    const result = validateImpression(map(value), now, false, surrogates);
    if (result instanceof Rejection) items.push({ ok: false, reason: result.reason, raw: raw ?? elementBytes(value), ref });
    else items.push({ ok: true, record: result, ref });
  }
  // Canonical names need no mapping: such pipelines read flat objects straight from their bytes.
  const scratch = Object.keys(options.fieldMapping).length === 0 ? canonicalImpressionFields() : undefined;
  return (messages, nowMs) => {
    const items: Item<Impression>[] = [];
    const arrivalOf = arrivalTimes();
    for (const message of messages) {
      const value = message.value;
      const arrivalMs = arrivalOf(message);
      if (!value || value.length === 0) {
        items.push({ ok: false, reason: REASON.emptyMessage, raw: value ?? Buffer.alloc(0), ref: refAt(message, 0, arrivalMs) });
        continue;
      }
      if (scratch && scanImpression(value, scratch)) {
        // No escapes in the subset, hence no lone surrogates.
        const result = validateImpression(scratch, processingTimeAt(arrivalMs, nowMs), false, false);
        const ref = refAt(message, 0, arrivalMs);
        if (result instanceof Rejection) items.push({ ok: false, reason: result.reason, raw: value, ref });
        else items.push({ ok: true, record: result, ref });
        continue;
      }
      if (scratch && value[0] === OPEN_ARRAY) {
        // An array whose elements are all valid objects of the subset; any other takes the general
        // path from the start (it builds each bad element's own bytes).
        const mark = items.length;
        const now = processingTimeAt(arrivalMs, nowMs);
        const allValid = scanImpressionArray(value, scratch, (index) => {
          const result = validateImpression(scratch, now, false, false);
          if (result instanceof Rejection) return false;
          items.push({ ok: true, record: result, ref: refAt(message, index, arrivalMs) });
          return true;
        });
        if (allValid) continue;
        items.length = mark;
      }
      const text = value.toString('utf8');
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        items.push({ ok: false, reason: REASON.jsonParse, raw: value, ref: refAt(message, 0, arrivalMs) });
        continue;
      }
      const now = processingTimeAt(arrivalMs, nowMs);
      const surrogates = mayHoldLoneSurrogate(text);
      if (!Array.isArray(parsed)) {
        element(items, parsed, value, refAt(message, 0, arrivalMs), now, surrogates);
        continue;
      }
      for (let index = 0; index < parsed.length; index++) element(items, parsed[index], undefined, refAt(message, index, arrivalMs), now, surrogates);
    }
    return items;
  };
}
