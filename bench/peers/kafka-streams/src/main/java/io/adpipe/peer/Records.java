package io.adpipe.peer;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The records that travel between sub-topologies (repartition topics) and sit in state stores, with
 * their binary form. Every value on an internal topic starts with a one-byte tag.
 */
final class Records {
  private Records() {}

  static final String UNKNOWN = "unknown";

  record Bid(String requestId, String country, String deviceType, long arrivalMs) {}

  record Impression(String impressionId, String requestId, String campaignId, long ts, long priceMicros, long arrivalMs) {
    Impression arrived(long at) {
      return new Impression(impressionId, requestId, campaignId, ts, priceMicros, at);
    }
  }

  record Click(String clickId, String impressionId, long ts, long arrivalMs) {
    Click arrived(long at) {
      return new Click(clickId, impressionId, ts, at);
    }
  }

  record Conversion(String conversionId, String clickId, long ts, long valueMicros, long arrivalMs) {
    Conversion arrived(long at) {
      return new Conversion(conversionId, clickId, ts, valueMicros, at);
    }
  }

  /** An accepted impression with the dimensions its bid request gave it (or unknown). */
  record Enriched(Impression impression, String country, String deviceType) {}

  /** An attributed click, with what a conversion needs of it and of its impression. */
  record Attribution(String clickId, String campaignId, long ts, long arrivalMs, String country, String deviceType) {}

  /** A signed change of one campaign-hour's counters under one pair of dimensions. */
  record Delta(String campaignId, long hour, String country, String deviceType, long impressions, long clicks, long conversions, long spend, long revenue) {}

  static final byte BID = 'B', IMP = 'I', CLICK = 'C', CONV = 'V', ENRICHED = 'E', ATTRIBUTION = 'A', DELTA = 'D';

  interface Writer {
    void write(DataOutputStream out) throws IOException;
  }

  interface Reader<T> {
    T read(DataInputStream in) throws IOException;
  }

  static byte[] bytes(Writer writer) {
    try {
      ByteArrayOutputStream buffer = new ByteArrayOutputStream(96);
      DataOutputStream out = new DataOutputStream(buffer);
      writer.write(out);
      out.flush();
      return buffer.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static <T> T parse(byte[] value, Reader<T> reader) {
    try {
      return reader.read(new DataInputStream(new ByteArrayInputStream(value)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Strings as UTF-16 code units (any length, lone surrogates kept: ids compare as the runtime's do). */
  static void str(DataOutputStream out, String s) throws IOException {
    out.writeInt(s.length());
    out.writeChars(s);
  }

  static String str(DataInputStream in) throws IOException {
    int n = in.readInt();
    char[] chars = new char[n];
    for (int k = 0; k < n; k++) chars[k] = in.readChar();
    return new String(chars);
  }

  static byte tag(byte[] value) {
    return value[0];
  }

  static void writeImpression(DataOutputStream out, Impression i) throws IOException {
    str(out, i.impressionId());
    str(out, i.requestId());
    str(out, i.campaignId());
    out.writeLong(i.ts());
    out.writeLong(i.priceMicros());
    out.writeLong(i.arrivalMs());
  }

  static Impression readImpression(DataInputStream in) throws IOException {
    return new Impression(str(in), str(in), str(in), in.readLong(), in.readLong(), in.readLong());
  }

  static byte[] encode(Bid b) {
    return bytes(out -> {
      out.writeByte(BID);
      str(out, b.requestId());
      str(out, b.country());
      str(out, b.deviceType());
      out.writeLong(b.arrivalMs());
    });
  }

  static Bid decodeBid(byte[] v) {
    return parse(v, in -> {
      in.readByte();
      return new Bid(str(in), str(in), str(in), in.readLong());
    });
  }

  static byte[] encode(Impression i) {
    return bytes(out -> {
      out.writeByte(IMP);
      writeImpression(out, i);
    });
  }

  static Impression decodeImpression(byte[] v) {
    return parse(v, in -> {
      in.readByte();
      return readImpression(in);
    });
  }

  static byte[] encode(Click c) {
    return bytes(out -> {
      out.writeByte(CLICK);
      str(out, c.clickId());
      str(out, c.impressionId());
      out.writeLong(c.ts());
      out.writeLong(c.arrivalMs());
    });
  }

  static Click decodeClick(byte[] v) {
    return parse(v, in -> {
      in.readByte();
      return new Click(str(in), str(in), in.readLong(), in.readLong());
    });
  }

  static byte[] encode(Conversion c) {
    return bytes(out -> {
      out.writeByte(CONV);
      str(out, c.conversionId());
      str(out, c.clickId());
      out.writeLong(c.ts());
      out.writeLong(c.valueMicros());
      out.writeLong(c.arrivalMs());
    });
  }

  static Conversion decodeConversion(byte[] v) {
    return parse(v, in -> {
      in.readByte();
      return new Conversion(str(in), str(in), in.readLong(), in.readLong(), in.readLong());
    });
  }

  static byte[] encode(Enriched e) {
    return bytes(out -> {
      out.writeByte(ENRICHED);
      writeImpression(out, e.impression());
      str(out, e.country());
      str(out, e.deviceType());
    });
  }

  static Enriched decodeEnriched(byte[] v) {
    return parse(v, in -> {
      in.readByte();
      return new Enriched(readImpression(in), str(in), str(in));
    });
  }

  static byte[] encode(Attribution a) {
    return bytes(out -> {
      out.writeByte(ATTRIBUTION);
      str(out, a.clickId());
      str(out, a.campaignId());
      out.writeLong(a.ts());
      out.writeLong(a.arrivalMs());
      str(out, a.country());
      str(out, a.deviceType());
    });
  }

  static Attribution decodeAttribution(byte[] v) {
    return parse(v, in -> {
      in.readByte();
      return new Attribution(str(in), str(in), in.readLong(), in.readLong(), str(in), str(in));
    });
  }

  static byte[] encode(Delta d) {
    return bytes(out -> {
      out.writeByte(DELTA);
      str(out, d.campaignId());
      out.writeLong(d.hour());
      str(out, d.country());
      str(out, d.deviceType());
      out.writeLong(d.impressions());
      out.writeLong(d.clicks());
      out.writeLong(d.conversions());
      out.writeLong(d.spend());
      out.writeLong(d.revenue());
    });
  }

  static Delta decodeDelta(byte[] v) {
    return parse(v, in -> {
      in.readByte();
      return new Delta(str(in), in.readLong(), str(in), str(in), in.readLong(), in.readLong(), in.readLong(), in.readLong(), in.readLong());
    });
  }

  /** State of one impression id (impression store): the impression once known, and every click on it. */
  static final class ImpressionState {
    Enriched impression; // null until the impression arrives
    final List<Click> clicks = new ArrayList<>();

    byte[] encode() {
      return bytes(out -> {
        out.writeBoolean(impression != null);
        if (impression != null) {
          writeImpression(out, impression.impression());
          str(out, impression.country());
          str(out, impression.deviceType());
        }
        out.writeInt(clicks.size());
        for (Click c : clicks) {
          str(out, c.clickId());
          out.writeLong(c.ts());
          out.writeLong(c.arrivalMs());
        }
      });
    }

    static ImpressionState decode(byte[] v, String impressionId) {
      ImpressionState s = new ImpressionState();
      if (v == null) return s;
      return parse(v, in -> {
        if (in.readBoolean()) s.impression = new Enriched(readImpression(in), str(in), str(in));
        int n = in.readInt();
        for (int k = 0; k < n; k++) s.clicks.add(new Click(str(in), impressionId, in.readLong(), in.readLong()));
        return s;
      });
    }
  }

  /** State of one click id (click store): its attribution once known, and every conversion on it. */
  static final class ClickState {
    Attribution attribution; // null until the click is attributed
    final List<Conversion> conversions = new ArrayList<>();

    byte[] encode() {
      return bytes(out -> {
        out.writeBoolean(attribution != null);
        if (attribution != null) {
          str(out, attribution.campaignId());
          out.writeLong(attribution.ts());
          out.writeLong(attribution.arrivalMs());
          str(out, attribution.country());
          str(out, attribution.deviceType());
        }
        out.writeInt(conversions.size());
        for (Conversion c : conversions) {
          str(out, c.conversionId());
          out.writeLong(c.ts());
          out.writeLong(c.valueMicros());
          out.writeLong(c.arrivalMs());
        }
      });
    }

    static ClickState decode(byte[] v, String clickId) {
      ClickState s = new ClickState();
      if (v == null) return s;
      return parse(v, in -> {
        if (in.readBoolean()) s.attribution = new Attribution(clickId, str(in), in.readLong(), in.readLong(), str(in), str(in));
        int n = in.readInt();
        for (int k = 0; k < n; k++) s.conversions.add(new Conversion(str(in), clickId, in.readLong(), in.readLong(), in.readLong()));
        return s;
      });
    }
  }

  /** State of one request id (request store): the bid's dimensions, or the impressions waiting for it. */
  static final class RequestState {
    Bid bid; // null until an accepted bid request
    final List<Impression> waiting = new ArrayList<>();

    byte[] encode() {
      return bytes(out -> {
        out.writeBoolean(bid != null);
        if (bid != null) {
          str(out, bid.country());
          str(out, bid.deviceType());
          out.writeLong(bid.arrivalMs());
        }
        out.writeInt(waiting.size());
        for (Impression i : waiting) writeImpression(out, i);
      });
    }

    static RequestState decode(byte[] v, String requestId) {
      RequestState s = new RequestState();
      if (v == null) return s;
      return parse(v, in -> {
        if (in.readBoolean()) s.bid = new Bid(requestId, str(in), str(in), in.readLong());
        int n = in.readInt();
        for (int k = 0; k < n; k++) s.waiting.add(readImpression(in));
        return s;
      });
    }
  }
}
