package io.adpipe.peer;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueStore;

/** The topology's processors: decode, dedup, enrich, attribute clicks, attribute conversions, aggregate. */
final class Processors {
  private Processors() {}

  static final long HOUR_MS = 3_600_000L;

  /** Pipeline stats kept in a (changelogged) store of the processor's task and mirrored to HBase as absolute values. */
  abstract static class Counting<KIn, VIn> implements Processor<KIn, VIn, String, byte[]> {
    protected ProcessorContext<String, byte[]> context;
    private KeyValueStore<String, Long> stats;
    protected HBaseSink hbase;
    private final String statsStore;
    private final String hbaseStore;

    Counting(String statsStore, String hbaseStore) {
      this.statsStore = statsStore;
      this.hbaseStore = hbaseStore;
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
      this.context = context;
      this.stats = statsStore == null ? null : context.getStateStore(statsStore);
      this.hbase = context.getStateStore(hbaseStore);
    }

    protected void count(String stat, long n) {
      Long before = stats.get(stat);
      long after = (before == null ? 0 : before) + n;
      stats.put(stat, after);
      hbase.put("s|" + stat + "|" + context.taskId(), "v", ByteBuffer.allocate(8).putLong(after).array());
    }

    protected void forward(String key, byte[] value, long timestamp) {
      context.forward(new Record<>(key, value, timestamp, new RecordHeaders()));
    }
  }

  // ---- decode + validate: valid records keyed by id, invalid ones to the dead-letter branch -------

  static final class DecodeProcessor extends Counting<byte[], byte[]> {
    private final String source;
    private final Config config;
    private Decode.Avro avro;

    DecodeProcessor(String source, Config config) {
      super("stats-decode-" + source, "hbase-decode-" + source);
      this.source = source;
      this.config = config;
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
      super.init(context);
      if (source.equals("bidRequests")) avro = new Decode.Avro(config.readerSchema, config.writerSchema);
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
      long arrival = record.timestamp();
      long now = Decode.processingTime(arrival, System.currentTimeMillis());
      byte[] value = record.value();
      List<? extends Decode.Item<?>> items = switch (source) {
        case "bidRequests" -> List.of(avro.decode(value, now));
        case "impressions" -> Decode.impressions(value, now, config.impressionMapping);
        case "clicks" -> Decode.csv(value, now, Decode.CLICK_COLUMNS, config.clicks, Validate::click);
        default -> Decode.csv(value, now, Decode.CONVERSION_COLUMNS, config.conversions, Validate::conversion);
      };
      int invalid = 0;
      for (Decode.Item<?> item : items) {
        Object r = item.record();
        if (r == null) {
          invalid++;
          deadLetter(item, record);
        } else if (r instanceof Records.Bid b) {
          forward(b.requestId(), Records.encode(new Records.Bid(b.requestId(), b.country(), b.deviceType(), arrival)), arrival);
        } else if (r instanceof Records.Impression i) {
          forward(i.impressionId(), Records.encode(i.arrived(arrival)), arrival);
        } else if (r instanceof Records.Click c) {
          forward(c.clickId(), Records.encode(c.arrived(arrival)), arrival);
        } else if (r instanceof Records.Conversion c) {
          forward(c.conversionId(), Records.encode(c.arrived(arrival)), arrival);
        }
      }
      if (invalid > 0) count("invalid:" + source, invalid);
    }

    private void deadLetter(Decode.Item<?> item, Record<byte[], byte[]> record) {
      RecordMetadata meta = context.recordMetadata().orElseThrow();
      RecordHeaders headers = new RecordHeaders();
      headers.add("adpipe-source", source.getBytes(StandardCharsets.UTF_8));
      headers.add("adpipe-reason", item.reason().getBytes(StandardCharsets.UTF_8));
      headers.add("adpipe-topic", meta.topic().getBytes(StandardCharsets.UTF_8));
      headers.add("adpipe-partition", String.valueOf(meta.partition()).getBytes(StandardCharsets.UTF_8));
      headers.add("adpipe-offset", String.valueOf(meta.offset()).getBytes(StandardCharsets.UTF_8));
      byte[] raw = item.raw();
      byte[] marked = new byte[raw.length + 1]; // tag 0: the dead-letter branch strips it
      System.arraycopy(raw, 0, marked, 1, raw.length);
      context.forward(new Record<>(null, marked, record.timestamp(), headers));
    }
  }

  // ---- dedup by id (first accepted copy wins), then re-keyed by the id of the partner ----------

  static final class DedupProcessor extends Counting<String, byte[]> {
    private final String source;
    private KeyValueStore<String, byte[]> seen;
    private static final byte[] SEEN = {1};

    DedupProcessor(String source) {
      super("stats-dedup-" + source, "hbase-dedup-" + source);
      this.source = source;
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
      super.init(context);
      seen = context.getStateStore("seen-" + source);
    }

    @Override
    public void process(Record<String, byte[]> record) {
      if (seen.get(record.key()) != null) {
        count("duplicates:" + source, 1);
        return;
      }
      seen.put(record.key(), SEEN);
      count("accepted:" + source, 1);
      byte[] v = record.value();
      String partner = switch (Records.tag(v)) {
        case Records.IMP -> Records.decodeImpression(v).requestId();
        case Records.CLICK -> Records.decodeClick(v).impressionId();
        default -> Records.decodeConversion(v).clickId();
      };
      forward(partner, v, record.timestamp());
    }
  }

  // ---- enrichment: bid requests and impressions by request_id, either arrival order -------------

  static final class RequestJoin extends Counting<String, byte[]> {
    private KeyValueStore<String, byte[]> requests;

    RequestJoin() {
      super("stats-requests", "hbase-requests");
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
      super.init(context);
      requests = context.getStateStore("requests");
    }

    @Override
    public void process(Record<String, byte[]> record) {
      String requestId = record.key();
      Records.RequestState state = Records.RequestState.decode(requests.get(requestId), requestId);
      byte[] v = record.value();
      if (Records.tag(v) == Records.BID) {
        if (state.bid != null) {
          count("duplicates:bidRequests", 1);
          return;
        }
        count("accepted:bidRequests", 1);
        state.bid = Records.decodeBid(v);
        for (Records.Impression i : state.waiting) forward(i.impressionId(), Records.encode(new Records.Enriched(i, state.bid.country(), state.bid.deviceType())), record.timestamp());
        state.waiting.clear();
      } else {
        Records.Impression i = Records.decodeImpression(v);
        if (state.bid != null) {
          forward(i.impressionId(), Records.encode(new Records.Enriched(i, state.bid.country(), state.bid.deviceType())), record.timestamp());
          return;
        }
        // Counted as unknown now; re-sent with its dimensions if the bid request comes later.
        forward(i.impressionId(), Records.encode(new Records.Enriched(i, Records.UNKNOWN, Records.UNKNOWN)), record.timestamp());
        state.waiting.add(i);
      }
      requests.put(requestId, state.encode());
    }
  }

  static String deltaKey(String campaignId, long hour) {
    return campaignId + "\u0000" + hour;
  }

  // ---- click attribution by impression_id, either arrival order, within the lateness bound --------

  static final class ImpressionJoin extends Counting<String, byte[]> {
    private final Config config;
    private KeyValueStore<String, byte[]> impressions;

    ImpressionJoin(Config config) {
      super("stats-impressions", "hbase-impressions");
      this.config = config;
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
      super.init(context);
      impressions = context.getStateStore("impressions");
    }

    private boolean attributed(Records.Click c, Records.Impression i) {
      long delay = c.ts() - i.ts();
      return delay >= 0 && delay <= config.attributionWindowMs && Math.abs(c.arrivalMs() - i.arrivalMs()) <= config.latenessMs;
    }

    private void delta(Records.Enriched e, long eventTs, long sign, boolean impression, long ts) {
      Records.Impression i = e.impression();
      long hour = Math.floorDiv(eventTs, HOUR_MS) * HOUR_MS;
      Records.Delta d = impression
          ? new Records.Delta(i.campaignId(), hour, e.country(), e.deviceType(), sign, 0, 0, sign * i.priceMicros(), 0)
          : new Records.Delta(i.campaignId(), hour, e.country(), e.deviceType(), 0, sign, 0, 0, 0);
      context.forward(new Record<>(deltaKey(i.campaignId(), hour), Records.encode(d), ts, new RecordHeaders()));
    }

    private void attribution(Records.Click c, Records.Enriched e, long ts) {
      forward(c.clickId(), Records.encode(new Records.Attribution(c.clickId(), e.impression().campaignId(), c.ts(), c.arrivalMs(), e.country(), e.deviceType())), ts);
    }

    @Override
    public void process(Record<String, byte[]> record) {
      String impressionId = record.key();
      Records.ImpressionState state = Records.ImpressionState.decode(impressions.get(impressionId), impressionId);
      byte[] v = record.value();
      long ts = record.timestamp();
      if (Records.tag(v) == Records.ENRICHED) {
        Records.Enriched e = Records.decodeEnriched(v);
        Records.Enriched old = state.impression;
        state.impression = e;
        if (old == null) {
          delta(e, e.impression().ts(), 1, true, ts);
          long n = 0;
          for (Records.Click c : state.clicks) {
            if (!attributed(c, e.impression())) continue;
            n++;
            delta(e, c.ts(), 1, false, ts);
            attribution(c, e, ts);
          }
          if (n > 0) count("attributed:clicks", n);
        } else {
          // The bid request came after the impression: move its counts to the known dimensions.
          delta(old, old.impression().ts(), -1, true, ts);
          delta(e, e.impression().ts(), 1, true, ts);
          for (Records.Click c : state.clicks) {
            if (!attributed(c, e.impression())) continue;
            delta(old, c.ts(), -1, false, ts);
            delta(e, c.ts(), 1, false, ts);
            attribution(c, e, ts);
          }
        }
      } else {
        Records.Click c = Records.decodeClick(v);
        state.clicks.add(c);
        if (state.impression != null && attributed(c, state.impression.impression())) {
          delta(state.impression, c.ts(), 1, false, ts);
          attribution(c, state.impression, ts);
          count("attributed:clicks", 1);
        }
      }
      impressions.put(impressionId, state.encode());
    }
  }

  // ---- conversion attribution by click_id ------------------------------------------------------

  static final class ClickJoin extends Counting<String, byte[]> {
    private final Config config;
    private KeyValueStore<String, byte[]> clicks;

    ClickJoin(Config config) {
      super("stats-clicks", "hbase-clicks");
      this.config = config;
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
      super.init(context);
      clicks = context.getStateStore("clicks");
    }

    private boolean attributed(Records.Conversion v, Records.Attribution a) {
      long delay = v.ts() - a.ts();
      return delay >= 0 && delay <= config.conversionWindowMs && Math.abs(v.arrivalMs() - a.arrivalMs()) <= config.latenessMs;
    }

    private void delta(Records.Attribution a, Records.Conversion v, long sign, long ts) {
      long hour = Math.floorDiv(v.ts(), HOUR_MS) * HOUR_MS;
      Records.Delta d = new Records.Delta(a.campaignId(), hour, a.country(), a.deviceType(), 0, 0, sign, 0, sign * v.valueMicros());
      context.forward(new Record<>(deltaKey(a.campaignId(), hour), Records.encode(d), ts, new RecordHeaders()));
    }

    @Override
    public void process(Record<String, byte[]> record) {
      String clickId = record.key();
      Records.ClickState state = Records.ClickState.decode(clicks.get(clickId), clickId);
      byte[] v = record.value();
      long ts = record.timestamp();
      if (Records.tag(v) == Records.ATTRIBUTION) {
        Records.Attribution a = Records.decodeAttribution(v);
        Records.Attribution old = state.attribution;
        state.attribution = a;
        long n = 0;
        for (Records.Conversion c : state.conversions) {
          if (!attributed(c, a)) continue;
          if (old == null) n++;
          else delta(old, c, -1, ts);
          delta(a, c, 1, ts);
        }
        if (n > 0) count("attributed:conversions", n);
      } else {
        Records.Conversion c = Records.decodeConversion(v);
        state.conversions.add(c);
        if (state.attribution != null && attributed(c, state.attribution)) {
          delta(state.attribution, c, 1, ts);
          count("attributed:conversions", 1);
        }
      }
      clicks.put(clickId, state.encode());
    }
  }

  // ---- aggregates per campaign x UTC hour, with country and device_type breakdowns --------------

  static final class Aggregate extends Counting<String, byte[]> {
    private KeyValueStore<String, byte[]> aggregates;

    Aggregate() {
      super(null, "hbase-aggregates");
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
      super.init(context);
      aggregates = context.getStateStore("aggregates");
    }

    private static Map<String, long[]> decode(byte[] v) {
      Map<String, long[]> cells = new LinkedHashMap<>();
      if (v == null) return cells;
      ByteBuffer b = ByteBuffer.wrap(v);
      int n = b.getInt();
      for (int k = 0; k < n; k++) {
        char[] name = new char[b.getInt()];
        for (int j = 0; j < name.length; j++) name[j] = b.getChar();
        long[] c = new long[5];
        for (int j = 0; j < 5; j++) c[j] = b.getLong();
        cells.put(new String(name), c);
      }
      return cells;
    }

    private static byte[] encode(Map<String, long[]> cells) {
      int size = 4;
      for (String k : cells.keySet()) size += 4 + 2 * k.length() + 40;
      ByteBuffer b = ByteBuffer.allocate(size);
      b.putInt(cells.size());
      for (Map.Entry<String, long[]> e : cells.entrySet()) {
        b.putInt(e.getKey().length());
        for (int j = 0; j < e.getKey().length(); j++) b.putChar(e.getKey().charAt(j));
        for (long x : e.getValue()) b.putLong(x);
      }
      return b.array();
    }

    @Override
    public void process(Record<String, byte[]> record) {
      Records.Delta d = Records.decodeDelta(record.value());
      Map<String, long[]> cells = decode(aggregates.get(record.key()));
      String row = "a|" + record.key();
      for (String qualifier : new String[] {"t", "c:" + d.country(), "d:" + d.deviceType()}) {
        long[] c = cells.computeIfAbsent(qualifier, q -> new long[5]);
        c[0] += d.impressions();
        c[1] += d.clicks();
        c[2] += d.conversions();
        c[3] += d.spend();
        c[4] += d.revenue();
        ByteBuffer value = ByteBuffer.allocate(40);
        for (long x : c) value.putLong(x);
        hbase.put(row, qualifier, value.array());
      }
      aggregates.put(record.key(), encode(cells));
    }
  }
}
