package io.adpipe.peer;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Contract v1's value rules after decoding and field mapping, with the runtime's reason codes
 * (runtime/stages/validate.ts). A field bag maps canonical names to: null (absent or JSON null),
 * String, Double (a JSON number, read as JavaScript reads it), or {@link #OTHER} (any other JSON value).
 */
final class Validate {
  private Validate() {}

  static final Object OTHER = new Object();
  static final long MAX_FUTURE_MS = 3_600_000L;
  static final int ID_MAX_LENGTH = 128;
  static final long MAX_SAFE = 9_007_199_254_740_991L;

  /** Why a record is invalid: the dead-letter header adpipe-reason. */
  static final class Rejection extends Exception {
    final String reason;

    Rejection(String reason) {
      super(reason, null, false, false);
      this.reason = reason;
    }
  }

  private static final Pattern ISO = Pattern.compile("^(\\d{4})-(\\d{2})-(\\d{2})T(\\d{2}):(\\d{2}):(\\d{2})(?:\\.(\\d{1,9}))?(Z|[+-]\\d{2}:\\d{2})$");
  private static final Pattern DIGITS = Pattern.compile("^\\d{1,16}$");

  private static boolean isSafeInteger(double d) {
    return !Double.isNaN(d) && !Double.isInfinite(d) && Math.floor(d) == d && Math.abs(d) <= MAX_SAFE;
  }

  private static boolean leap(long y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  }

  private static long daysFromCivil(long y, long m, long d) {
    y -= m <= 2 ? 1 : 0;
    long era = Math.floorDiv(y, 400);
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
  }

  /** Epoch millis of an ISO-8601 time with an explicit offset, or NaN (a calendar instant only). */
  static double parseIsoWithOffset(String text) {
    Matcher m = ISO.matcher(text);
    if (!m.matches()) return Double.NaN;
    long year = Long.parseLong(m.group(1));
    int month = Integer.parseInt(m.group(2));
    int day = Integer.parseInt(m.group(3));
    int hour = Integer.parseInt(m.group(4));
    int minute = Integer.parseInt(m.group(5));
    int second = Integer.parseInt(m.group(6));
    if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return Double.NaN;
    int[] days = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    // Date.UTC (which the runtime uses) reads years 0..99 as 1900..1999.
    if (year <= 99) year += 1900;
    int monthDays = month == 2 && leap(year) ? 29 : days[month - 1];
    if (day < 1 || day > monthDays) return Double.NaN;
    String fraction = m.group(7);
    long millis = 0;
    if (fraction != null) millis = Long.parseLong((fraction + "00").substring(0, 3));
    long local = ((daysFromCivil(year, month, day) * 24 + hour) * 60 + minute) * 60_000L + second * 1000L + millis;
    String zone = m.group(8);
    if (zone.equals("Z")) return local;
    int offsetHours = Integer.parseInt(zone.substring(1, 3));
    int offsetMinutes = Integer.parseInt(zone.substring(4, 6));
    if (offsetHours > 23 || offsetMinutes > 59) return Double.NaN;
    return local - (zone.startsWith("-") ? -1 : 1) * (offsetHours * 60L + offsetMinutes) * 60_000L;
  }

  private static boolean loneSurrogate(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)) {
        if (i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))) return true;
        i++;
      } else if (Character.isLowSurrogate(c)) {
        return true;
      }
    }
    return false;
  }

  static String requiredString(Map<String, Object> f, String name, int max) throws Rejection {
    Object v = f.get(name);
    if (v == null) throw new Rejection("field.missing:" + name);
    if (!(v instanceof String s)) throw new Rejection("field.type:" + name);
    if (s.isEmpty()) throw new Rejection("field.missing:" + name);
    if (s.length() > max) throw new Rejection("field.range:" + name);
    if (loneSurrogate(s)) throw new Rejection("field.type:" + name);
    return s;
  }

  static String optionalString(Map<String, Object> f, String name) throws Rejection {
    Object v = f.get(name);
    if (v == null || "".equals(v)) return null;
    if (!(v instanceof String s)) throw new Rejection("field.type:" + name);
    return s;
  }

  static long nonNegativeInteger(Map<String, Object> f, String name, boolean numbersAsText) throws Rejection {
    Object v = f.get(name);
    if (v == null) throw new Rejection("field.missing:" + name);
    if (v instanceof Double d) {
      if (!isSafeInteger(d) || d < 0) throw new Rejection("field.range:" + name);
      return (long) (double) d;
    }
    if (v instanceof String s && numbersAsText) {
      if (s.isEmpty()) throw new Rejection("field.missing:" + name);
      if (!DIGITS.matcher(s).matches()) throw new Rejection("field.range:" + name);
      long parsed = Long.parseLong(s);
      if (parsed > MAX_SAFE) throw new Rejection("field.range:" + name);
      return parsed;
    }
    throw new Rejection("field.type:" + name);
  }

  static long timestamp(Map<String, Object> f, String name, long nowMs) throws Rejection {
    Object v = f.get(name);
    if (v == null || "".equals(v)) throw new Rejection("field.missing:" + name);
    double ms;
    if (v instanceof Double d) ms = d;
    else if (v instanceof String s) ms = DIGITS.matcher(s).matches() ? (double) Long.parseLong(s) : parseIsoWithOffset(s);
    else ms = Double.NaN;
    if (!isSafeInteger(ms) || ms < 0) throw new Rejection("field.type:" + name);
    long millis = (long) ms;
    if (millis - nowMs > MAX_FUTURE_MS) throw new Rejection("field.future:" + name);
    return millis;
  }

  static Records.Impression impression(Map<String, Object> f, long nowMs) throws Rejection {
    String impressionId = requiredString(f, "impression_id", ID_MAX_LENGTH);
    String requestId = requiredString(f, "request_id", Integer.MAX_VALUE);
    String campaignId = requiredString(f, "campaign_id", ID_MAX_LENGTH);
    optionalString(f, "creative_id");
    optionalString(f, "user_id");
    long ts = timestamp(f, "ts", nowMs);
    long price = nonNegativeInteger(f, "price_micros", false);
    return new Records.Impression(impressionId, requestId, campaignId, ts, price, 0);
  }

  static Records.Click click(Map<String, Object> f, long nowMs) throws Rejection {
    String clickId = requiredString(f, "click_id", ID_MAX_LENGTH);
    String impressionId = requiredString(f, "impression_id", ID_MAX_LENGTH);
    long ts = timestamp(f, "ts", nowMs);
    optionalString(f, "user_id");
    return new Records.Click(clickId, impressionId, ts, 0);
  }

  static Records.Conversion conversion(Map<String, Object> f, long nowMs) throws Rejection {
    String conversionId = requiredString(f, "conversion_id", ID_MAX_LENGTH);
    String clickId = requiredString(f, "click_id", ID_MAX_LENGTH);
    long ts = timestamp(f, "ts", nowMs);
    long value = nonNegativeInteger(f, "value_micros", true);
    return new Records.Conversion(conversionId, clickId, ts, value, 0);
  }

  static void bidRequest(String requestId, long ts, long nowMs) throws Rejection {
    if (requestId.isEmpty()) throw new Rejection("field.missing:request_id");
    if (ts < 0 || ts > MAX_SAFE) throw new Rejection("field.range:ts");
    if (ts - nowMs > MAX_FUTURE_MS) throw new Rejection("field.future:ts");
  }
}
