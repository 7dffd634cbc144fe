package io.adpipe.peer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;

/** The pipeline's runtime config (the same JSON file adpipe's worker reads): topics, CSV options, field mappings, windows. */
final class Config {
  final String bootstrap;
  final String zookeeperQuorum;
  final String znodeParent;
  final Map<String, String> topics = new HashMap<>();
  final String deadLetterTopic;
  final Map<String, String> impressionMapping;
  final Decode.CsvOptions clicks;
  final Decode.CsvOptions conversions;
  final Schema readerSchema;
  final Schema writerSchema;
  final long attributionWindowMs;
  final long conversionWindowMs;
  final long latenessMs;

  static final List<String> SOURCES = List.of("bidRequests", "impressions", "clicks", "conversions");

  Config(File file) throws IOException {
    JsonNode root = new ObjectMapper().readTree(file);
    List<String> brokers = new ArrayList<>();
    root.path("kafka").path("brokers").forEach(b -> brokers.add(b.asText()));
    bootstrap = String.join(",", brokers);
    zookeeperQuorum = root.path("hbase").path("zookeeperQuorum").asText();
    znodeParent = root.path("hbase").path("znodeParent").asText("/hbase");
    JsonNode sources = root.path("sources");
    for (String s : SOURCES) topics.put(s, sources.path(s).path("topic").asText());
    deadLetterTopic = root.path("deadLetterTopic").asText();
    impressionMapping = mapping(sources.path("impressions"));
    clicks = csv(sources.path("clicks"));
    conversions = csv(sources.path("conversions"));
    try (InputStream in = Config.class.getResourceAsStream("/bid-request.avsc")) {
      readerSchema = new Schema.Parser().parse(in);
    }
    JsonNode writer = sources.path("bidRequests").path("avro").path("writerSchema");
    writerSchema = writer.isTextual() ? new Schema.Parser().parse(writer.asText()) : readerSchema;
    JsonNode correlation = root.path("correlation");
    attributionWindowMs = correlation.path("attributionWindowMs").asLong(86_400_000L);
    conversionWindowMs = correlation.path("conversionWindowMs").asLong(7 * 86_400_000L);
    latenessMs = correlation.path("latenessMs").asLong(attributionWindowMs);
  }

  private static Map<String, String> mapping(JsonNode source) {
    Map<String, String> m = new HashMap<>();
    source.path("fieldMapping").properties().forEach(e -> m.put(e.getKey(), e.getValue().asText()));
    return m;
  }

  private static Decode.CsvOptions csv(JsonNode source) {
    JsonNode csv = source.path("csv");
    List<String> columns = null;
    if (csv.path("columns").isArray()) {
      columns = new ArrayList<>();
      for (JsonNode c : csv.path("columns")) columns.add(c.asText());
    }
    String delimiter = csv.path("delimiter").asText(",");
    return new Decode.CsvOptions(delimiter.isEmpty() ? ',' : delimiter.charAt(0), csv.path("header").asBoolean(false), columns, mapping(source));
  }
}
