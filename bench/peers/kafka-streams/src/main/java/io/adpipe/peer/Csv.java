package io.adpipe.peer;

import java.util.ArrayList;
import java.util.List;

/**
 * An RFC 4180 scanner over one message's text: quoted fields (with "" escapes, delimiters and line
 * breaks inside), \n or \r\n line ends, blank lines skipped. A malformed line is reported with its
 * span and scanning resumes at the next physical line, so one bad line costs only itself; an
 * unterminated quote runs to the end of the text (a quoted field may hold line breaks).
 */
final class Csv {
  private Csv() {}

  interface Sink {
    void row(List<String> fields, int start, int end);

    void error(String reason, int start, int end);
  }

  private static final char QUOTE = '"', LF = '\n', CR = '\r';

  private static char at(String text, int i) {
    return i < text.length() ? text.charAt(i) : (char) 0xFFFF;
  }

  static void scan(String text, char delimiter, Sink sink) {
    int length = text.length();
    int i = 0;
    while (i < length) {
      char c0 = text.charAt(i);
      if (c0 == LF) {
        i++;
        continue;
      }
      if (c0 == CR && at(text, i + 1) == LF) {
        i += 2;
        continue;
      }
      int start = i;
      List<String> fields = new ArrayList<>(6);
      boolean failed = false;
      for (;;) {
        if (at(text, i) == QUOTE) {
          StringBuilder value = new StringBuilder();
          int from = i + 1;
          int closed = -1;
          for (;;) {
            int q = text.indexOf('"', from);
            if (q == -1) break;
            if (at(text, q + 1) == QUOTE) {
              value.append(text, from, q + 1);
              from = q + 2;
              continue;
            }
            value.append(text, from, q);
            closed = q;
            break;
          }
          if (closed == -1) {
            sink.error("csv.quote", start, length);
            return;
          }
          char after = at(text, closed + 1);
          boolean endsField = closed + 1 >= length || after == delimiter || after == LF || (after == CR && at(text, closed + 2) == LF);
          if (!endsField) {
            failed = true;
            break;
          }
          fields.add(value.toString());
          i = closed + 1;
        } else {
          int j = i;
          for (; j < length; j++) {
            char c = text.charAt(j);
            if (c == delimiter || c == LF || (c == CR && at(text, j + 1) == LF)) break;
            if (c == QUOTE) break;
          }
          if (j < length && text.charAt(j) == QUOTE) {
            failed = true;
            i = j;
            break;
          }
          fields.add(text.substring(i, j));
          i = j;
        }
        if (i >= length) break;
        char c = text.charAt(i);
        if (c == delimiter) {
          i++;
          if (i >= length) {
            fields.add("");
            break;
          }
          continue;
        }
        break;
      }
      if (failed) {
        int lineEnd = text.indexOf('\n', i);
        int end = lineEnd == -1 ? length : lineEnd;
        sink.error("csv.quote", start, end > start && text.charAt(end - 1) == CR ? end - 1 : end);
        i = lineEnd == -1 ? length : lineEnd + 1;
        continue;
      }
      int end = i;
      if (i < length) i += text.charAt(i) == CR ? 2 : 1;
      sink.row(fields, start, end);
    }
  }
}
