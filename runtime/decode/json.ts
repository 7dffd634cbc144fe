import type { Impression, InMessage, Item } from '../model.js';
import { processingTime, refOf } from '../model.js';
import { REASON, Rejection, validateImpression, type Fields } from '../stages/validate.js';

export interface JsonSourceOptions {
  /** Source field name → canonical name (contract §4). */
  fieldMapping: Record<string, string>;
}

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
 */
export function impressionDecoder(options: JsonSourceOptions): (messages: readonly InMessage[], nowMs: number) => Item<Impression>[] {
  const map = mapper(options.fieldMapping);
  return (messages, nowMs) => {
    const items: Item<Impression>[] = [];
    for (const message of messages) {
      const value = message.value;
      if (!value || value.length === 0) {
        items.push({ ok: false, reason: REASON.emptyMessage, raw: value ?? Buffer.alloc(0), ref: refOf(message, 0) });
        continue;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(value.toString('utf8'));
      } catch {
        items.push({ ok: false, reason: REASON.jsonParse, raw: value, ref: refOf(message, 0) });
        continue;
      }
      const elements = Array.isArray(parsed) ? (parsed as unknown[]) : [parsed];
      const whole = !Array.isArray(parsed);
      for (let index = 0; index < elements.length; index++) {
        const element = elements[index];
        const ref = refOf(message, index);
        if (!isObject(element)) {
          items.push({ ok: false, reason: REASON.jsonShape, raw: whole ? value : elementBytes(element), ref });
          continue;
        }
        const result = validateImpression(map(element), processingTime(message, nowMs));
        if (result instanceof Rejection) items.push({ ok: false, reason: result.reason, raw: whole ? value : elementBytes(element), ref });
        else items.push({ ok: true, record: result, ref });
      }
    }
    return items;
  };
}
