package io.adpipe.peer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;

/**
 * Decoders of the four formats of contract v1, each turning one Kafka message into its records or
 * their failures (one JSON array element, one CSV line, one Avro message), validated with
 * {@link Validate}. Invalid items keep the bytes the dead-letter topic gets.
 */
final class Decode {
  private Decode() {}

  /** One record of a message: a valid record, or the reason and bytes of an invalid one. */
  record Item<T>(T record, String reason, byte[] raw) {
    static <T> Item<T> ok(T record) {
      return new Item<>(record, null, null);
    }

    static <T> Item<T> bad(String reason, byte[] raw) {
      return new Item<>(null, reason, raw);
    }
  }

  /** The processing time the future rule compares with: the Kafka timestamp when earlier than the clock. */
  static long processingTime(long kafkaTs, long nowMs) {
    return kafkaTs > 0 && kafkaTs < nowMs ? kafkaTs : nowMs;
  }

  // ---- JSON impressions -------------------------------------------------------------------------

  private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  /** A JSON value as JavaScript's JSON.parse would hand it to the validators. */
  private static Object jsValue(JsonNode node) {
    if (node == null || node.isNull()) return null;
    if (node.isTextual()) return node.textValue();
    if (node.isNumber()) return node.doubleValue();
    return Validate.OTHER;
  }

  static List<Item<Records.Impression>> impressions(byte[] value, long nowMs, Map<String, String> fieldMapping) {
    List<Item<Records.Impression>> items = new ArrayList<>(1);
    if (value == null || value.length == 0) {
      items.add(Item.bad("message.empty", value == null ? new byte[0] : value));
      return items;
    }
    JsonNode parsed;
    try {
      parsed = JSON.readTree(new String(value, StandardCharsets.UTF_8));
    } catch (JsonProcessingException | RuntimeException e) {
      parsed = null;
    }
    if (parsed == null || parsed.isMissingNode()) {
      items.add(Item.bad("json.parse", value));
      return items;
    }
    boolean whole = !parsed.isArray();
    Iterable<JsonNode> elements = whole ? List.of(parsed) : parsed;
    for (JsonNode element : elements) {
      if (!(element instanceof ObjectNode object)) {
        items.add(Item.bad("json.type", whole ? value : elementBytes(element)));
        continue;
      }
      Map<String, Object> fields = new HashMap<>();
      for (Map.Entry<String, JsonNode> e : object.properties()) fields.put(e.getKey(), jsValue(e.getValue()));
      for (Map.Entry<String, String> m : fieldMapping.entrySet()) {
        if (object.has(m.getKey())) fields.put(m.getValue(), jsValue(object.get(m.getKey())));
      }
      try {
        items.add(Item.ok(Validate.impression(fields, nowMs)));
      } catch (Validate.Rejection r) {
        items.add(Item.bad(r.reason, whole ? value : elementBytes(element)));
      }
    }
    return items;
  }

  private static byte[] elementBytes(JsonNode element) {
    try {
      return JSON.writeValueAsBytes(element);
    } catch (JsonProcessingException e) {
      return new byte[0];
    }
  }

  // ---- CSV clicks and conversions ---------------------------------------------------------------

  /** A CSV source's options: delimiter, header line, configured columns and field mapping. */
  record CsvOptions(char delimiter, boolean header, List<String> columns, Map<String, String> fieldMapping) {}

  interface CsvValidator<T> {
    T validate(Map<String, Object> fields, long nowMs) throws Validate.Rejection;
  }

  static final List<String> CLICK_COLUMNS = List.of("click_id", "impression_id", "ts", "user_id");
  static final List<String> CONVERSION_COLUMNS = List.of("conversion_id", "click_id", "ts", "type", "value_micros");

  static <T> List<Item<T>> csv(byte[] value, long nowMs, List<String> canonical, CsvOptions options, CsvValidator<T> validator) {
    List<Item<T>> items = new ArrayList<>(1);
    if (value == null || value.length == 0) {
      items.add(Item.bad("message.empty", value == null ? new byte[0] : value));
      return items;
    }
    String text = new String(value, StandardCharsets.UTF_8);
    List<String> configured = mapped(options.columns() != null ? options.columns() : canonical, options.fieldMapping());
    List<String>[] names = new List[] {configured};
    boolean[] expectHeader = {options.header()};
    Csv.scan(text, options.delimiter(), new Csv.Sink() {
      @Override
      public void row(List<String> fields, int start, int end) {
        if (expectHeader[0]) {
          expectHeader[0] = false;
          if (options.columns() == null) names[0] = mapped(fields, options.fieldMapping());
          return;
        }
        List<String> columns = names[0];
        if (fields.size() != columns.size()) {
          items.add(Item.bad("csv.column_count", text.substring(start, end).getBytes(StandardCharsets.UTF_8)));
          return;
        }
        Map<String, Object> bag = new HashMap<>();
        for (int k = 0; k < columns.size(); k++) {
          String v = fields.get(k);
          if (!v.isEmpty()) bag.put(columns.get(k), v);
        }
        try {
          items.add(Item.ok(validator.validate(bag, nowMs)));
        } catch (Validate.Rejection r) {
          items.add(Item.bad(r.reason, text.substring(start, end).getBytes(StandardCharsets.UTF_8)));
        }
      }

      @Override
      public void error(String reason, int start, int end) {
        items.add(Item.bad(reason, text.substring(start, end).getBytes(StandardCharsets.UTF_8)));
      }
    });
    return items;
  }

  private static List<String> mapped(List<String> columns, Map<String, String> fieldMapping) {
    List<String> out = new ArrayList<>(columns.size());
    for (String c : columns) out.add(fieldMapping.getOrDefault(c, c));
    return out;
  }

  // ---- Avro bid requests ------------------------------------------------------------------------

  /** Plain Avro binary, written with `writer` (default: the contract's schema), read as the contract's schema. */
  static final class Avro {
    private final GenericDatumReader<GenericRecord> reader;
    private BinaryDecoder decoder;

    Avro(Schema reader, Schema writer) {
      this.reader = new GenericDatumReader<>(writer, reader);
    }

    Item<Records.Bid> decode(byte[] value, long nowMs) {
      if (value == null || value.length == 0) return Item.bad("message.empty", value == null ? new byte[0] : value);
      GenericRecord record;
      try {
        decoder = DecoderFactory.get().binaryDecoder(value, decoder);
        record = reader.read(null, decoder);
        // Bytes left over after the record: corrupt, as bytes that end inside one.
        if (!decoder.isEnd()) return Item.bad("avro.decode", value);
      } catch (Exception | StackOverflowError | OutOfMemoryError e) {
        return Item.bad("avro.decode", value);
      }
      String requestId = record.get("request_id").toString();
      long ts = (Long) record.get("ts");
      try {
        Validate.bidRequest(requestId, ts, nowMs);
      } catch (Validate.Rejection r) {
        return Item.bad(r.reason, value);
      }
      return Item.ok(new Records.Bid(requestId, record.get("country").toString(), record.get("device_type").toString(), 0));
    }
  }
}
