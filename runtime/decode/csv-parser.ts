/**
 * An RFC 4180 CSV scanner over one string: quoted fields (with `""` escapes, delimiters and line
 * breaks inside), `\n` or `\r\n` line ends, blank lines skipped. A malformed line (text after a
 * closing quote, a quote inside an unquoted field) is reported with its span and scanning resumes
 * at the next line, so one bad line never costs its neighbours (contract §2.1); an unterminated
 * quote legitimately spans line breaks, so it makes the rest of the text one bad record.
 *
 * Why not csv-parse: its per-call set-up cost dominates small Kafka messages and one quoting error
 * aborts the whole input; measured in bench/runtime.ts, recorded in docs/decisions/0042.
 */

export interface CsvSink {
  row(fields: string[], start: number, end: number): void;
  error(reason: 'csv.quote', start: number, end: number): void;
}

const QUOTE = 34;
const LF = 10;
const CR = 13;

export function scanCsv(text: string, delimiter: number, sink: CsvSink): void {
  const length = text.length;
  let i = 0;
  while (i < length) {
    const c0 = text.charCodeAt(i);
    if (c0 === LF) {
      i += 1;
      continue;
    }
    if (c0 === CR && text.charCodeAt(i + 1) === LF) {
      i += 2;
      continue;
    }
    const start = i;
    const fields: string[] = [];
    let failed = false;
    for (;;) {
      if (text.charCodeAt(i) === QUOTE) {
        let value = '';
        let from = i + 1;
        let closed = -1;
        for (;;) {
          const q = text.indexOf('"', from);
          if (q === -1) break;
          if (text.charCodeAt(q + 1) === QUOTE) {
            value += text.slice(from, q + 1);
            from = q + 2;
            continue;
          }
          value += text.slice(from, q);
          closed = q;
          break;
        }
        if (closed === -1) {
          // RFC 4180 lets a quoted field hold line breaks, so an unterminated quote runs to the end.
          sink.error('csv.quote', start, length);
          return;
        }
        const after = text.charCodeAt(closed + 1);
        const endsField = (closed + 1 >= length || after === delimiter || after === LF || (after === CR && text.charCodeAt(closed + 2) === LF));
        if (!endsField) {
          failed = true;
          break;
        }
        fields.push(value);
        i = closed + 1;
      } else {
        let j = i;
        for (; j < length; j++) {
          const c = text.charCodeAt(j);
          if (c === delimiter || c === LF || (c === CR && text.charCodeAt(j + 1) === LF)) break;
          if (c === QUOTE) break;
        }
        if (j < length && text.charCodeAt(j) === QUOTE) {
          // A quote inside an unquoted field is not RFC 4180.
          failed = true;
          i = j;
          break;
        }
        fields.push(text.slice(i, j));
        i = j;
      }
      if (i >= length) break;
      const c = text.charCodeAt(i);
      if (c === delimiter) {
        i += 1;
        if (i >= length) {
          fields.push('');
          break;
        }
        continue;
      }
      break;
    }
    if (failed) {
      // Resume after the physical line the bad field started on.
      const lineEnd = text.indexOf('\n', i);
      const end = lineEnd === -1 ? length : lineEnd;
      sink.error('csv.quote', start, end > start && text.charCodeAt(end - 1) === CR ? end - 1 : end);
      i = lineEnd === -1 ? length : lineEnd + 1;
      continue;
    }
    const end = i;
    if (i < length) i += text.charCodeAt(i) === CR ? 2 : 1;
    sink.row(fields, start, end);
  }
}
