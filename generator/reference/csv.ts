/**
 * RFC 4180 splitting of one CSV message into records, written plainly for the reference. A record
 * ends at an unquoted `\n` or `\r\n`; a quoted field may hold delimiters, `""` and line breaks. A
 * line with no characters at all (e.g. after the message's final line break) is not a record.
 */
export type CsvRecord = { fields: string[] } | { error: string; text: string };

export function splitCsvMessage(text: string, delimiter = ','): CsvRecord[] {
  const records: CsvRecord[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const start = i;
    const fields: string[] = [];
    let error: string | undefined;
    let field = '';
    let atFieldStart = true;
    let inQuotes = false;
    let quoted = false;
    for (;;) {
      if (i >= n) {
        if (inQuotes) error ??= 'csv.quote';
        break;
      }
      const ch = text[i]!;
      if (inQuotes) {
        if (ch === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
          } else {
            inQuotes = false;
            i += 1;
          }
        } else {
          field += ch;
          i += 1;
        }
        continue;
      }
      if (ch === '\n' || (ch === '\r' && text[i + 1] === '\n')) break;
      if (ch === delimiter) {
        fields.push(field);
        field = '';
        atFieldStart = true;
        quoted = false;
        i += 1;
        continue;
      }
      if (ch === '"' && atFieldStart) {
        inQuotes = true;
        quoted = true;
        atFieldStart = false;
        i += 1;
        continue;
      }
      // Text after a closing quote, or a quote inside an unquoted field, is not RFC 4180.
      if (quoted || ch === '"') error ??= 'csv.quote';
      field += ch;
      atFieldStart = false;
      i += 1;
    }
    fields.push(field);
    const end = i;
    if (i < n) i += text[i] === '\r' ? 2 : 1;
    if (end === start && !error) continue;
    records.push(error ? { error, text: text.slice(start, end) } : { fields });
  }
  return records;
}
