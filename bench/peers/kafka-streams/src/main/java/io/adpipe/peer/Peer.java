package io.adpipe.peer;

import java.io.File;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.hadoop.hbase.TableName;
import org.apache.hadoop.hbase.client.Admin;
import org.apache.hadoop.hbase.client.ColumnFamilyDescriptorBuilder;
import org.apache.hadoop.hbase.client.TableDescriptorBuilder;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.state.Stores;

/**
 * adpipe's contract v1 as a Kafka Streams application (issue 14, docs/decisions/0049):
 *
 * <pre>
 * sources ─ decode+validate ─┬─ invalid → dead-letter topic (contract headers)
 *                            └─ by record id → r1 ─ dedup ─ by partner id → r2
 * r1 bids + r2 impressions (by request_id)     ─ enrich ─ r3 (by impression_id)
 * r3 + r2 clicks (by impression_id)            ─ attribute clicks ─ r4 (by click_id), deltas → r5
 * r4 + r2 conversions (by click_id)            ─ attribute conversions ─ deltas → r5
 * r5 deltas (by campaign × hour)               ─ aggregate ─ HBase
 * </pre>
 *
 * Every processor's stats and the aggregates go to HBase through {@link HBaseSink}, flushed before
 * each exactly_once_v2 commit. Usage: {@code Peer --config pipeline.json --app-id ID --table T
 * --threads N --partitions P --state-dir DIR [--commit-ms MS]}.
 */
public final class Peer {
  private Peer() {}

  private static final Serde<String> KEYS = Serdes.String();
  private static final Serde<byte[]> BYTES = Serdes.ByteArray();

  static Topology topology(Config config, int partitions) {
    StreamsBuilder b = new StreamsBuilder();
    Map<String, KStream<String, byte[]>> accepted = new HashMap<>();
    for (String source : Config.SOURCES) {
      addCounting(b, "decode-" + source);
      KStream<String, byte[]> decoded = b.stream(config.topics.get(source), Consumed.with(BYTES, BYTES).withName("source-" + source))
          .process(() -> new Processors.DecodeProcessor(source, config), Named.as("decode-" + source), "stats-decode-" + source, "hbase-decode-" + source);
      Map<String, KStream<String, byte[]>> routes = decoded.split(Named.as("route-" + source + "-"))
          .branch((k, v) -> v[0] == 0, Branched.as("invalid"))
          .defaultBranch(Branched.as("valid"));
      routes.get("route-" + source + "-invalid")
          .mapValues(v -> Arrays.copyOfRange(v, 1, v.length), Named.as("unmark-" + source))
          .to(config.deadLetterTopic, Produced.with(KEYS, BYTES).withName("dlq-" + source));
      accepted.put(source, routes.get("route-" + source + "-valid").repartition(repartition("r1-" + source, partitions)));
    }
    // Dedup (first accepted copy wins), then keyed by the partner each record joins.
    Map<String, KStream<String, byte[]>> byPartner = new HashMap<>();
    for (String source : new String[] {"impressions", "clicks", "conversions"}) {
      addCounting(b, "dedup-" + source);
      b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore("seen-" + source), KEYS, BYTES));
      byPartner.put(source, accepted.get(source)
          .process(() -> new Processors.DedupProcessor(source), Named.as("dedup-" + source), "seen-" + source, "stats-dedup-" + source, "hbase-dedup-" + source)
          .repartition(repartition("r2-" + source, partitions)));
    }
    addCounting(b, "requests");
    b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore("requests"), KEYS, BYTES));
    KStream<String, byte[]> enriched = accepted.get("bidRequests").merge(byPartner.get("impressions"), Named.as("bids-and-impressions"))
        .process(Processors.RequestJoin::new, Named.as("enrich"), "requests", "stats-requests", "hbase-requests")
        .repartition(repartition("r3-enriched", partitions));

    addCounting(b, "impressions");
    b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore("impressions"), KEYS, BYTES));
    Map<String, KStream<String, byte[]>> fromClicks = enriched.merge(byPartner.get("clicks"), Named.as("impressions-and-clicks"))
        .process(() -> new Processors.ImpressionJoin(config), Named.as("attribute-clicks"), "impressions", "stats-impressions", "hbase-impressions")
        .split(Named.as("clicks-out-"))
        .branch((k, v) -> v[0] == Records.ATTRIBUTION, Branched.as("attributions"))
        .defaultBranch(Branched.as("deltas"));
    KStream<String, byte[]> attributions = fromClicks.get("clicks-out-attributions").repartition(repartition("r4-attributions", partitions));

    addCounting(b, "clicks");
    b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore("clicks"), KEYS, BYTES));
    KStream<String, byte[]> conversionDeltas = attributions.merge(byPartner.get("conversions"), Named.as("clicks-and-conversions"))
        .process(() -> new Processors.ClickJoin(config), Named.as("attribute-conversions"), "clicks", "stats-clicks", "hbase-clicks")
        .repartition(repartition("r5-deltas-conversions", partitions));
    KStream<String, byte[]> clickDeltas = fromClicks.get("clicks-out-deltas").repartition(repartition("r5-deltas-clicks", partitions));

    b.addStateStore(HBaseSink.builder("hbase-aggregates"));
    b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore("aggregates"), KEYS, BYTES));
    clickDeltas.merge(conversionDeltas, Named.as("deltas")).process(Processors.Aggregate::new, Named.as("aggregate"), "aggregates", "hbase-aggregates");
    return b.build();
  }

  private static Repartitioned<String, byte[]> repartition(String name, int partitions) {
    return Repartitioned.<String, byte[]>as(name).withKeySerde(KEYS).withValueSerde(BYTES).withNumberOfPartitions(partitions);
  }

  private static void addCounting(StreamsBuilder b, String name) {
    b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore("stats-" + name), KEYS, Serdes.Long()));
    b.addStateStore(HBaseSink.builder("hbase-" + name));
  }

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = new HashMap<>();
    for (int i = 0; i + 1 < argv.length; i += 2) args.put(argv[i].replaceFirst("^--", ""), argv[i + 1]);
    Config config = new Config(new File(args.get("config")));
    String table = args.get("table");
    int partitions = Integer.parseInt(args.getOrDefault("partitions", "3"));

    HBaseSink.open(config.zookeeperQuorum, config.znodeParent, table);
    try (Admin admin = HBaseSink.connection().getAdmin()) {
      TableName name = TableName.valueOf(table);
      if (!admin.tableExists(name)) {
        admin.createTable(TableDescriptorBuilder.newBuilder(name).setColumnFamily(ColumnFamilyDescriptorBuilder.newBuilder(HBaseSink.FAMILY).setMaxVersions(1).build()).build());
      }
    }

    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, args.get("app-id"));
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrap);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, Integer.parseInt(args.getOrDefault("threads", "1")));
    props.put(StreamsConfig.STATE_DIR_CONFIG, args.get("state-dir"));
    props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, Integer.parseInt(args.getOrDefault("commit-ms", "1000")));
    props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 64L * 1024 * 1024);
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");

    KafkaStreams streams = new KafkaStreams(topology(config, partitions), props);
    CountDownLatch stopped = new CountDownLatch(1);
    int[] exit = {0};
    streams.setUncaughtExceptionHandler(e -> {
      System.err.println("peer: stream thread failed: " + e);
      e.printStackTrace();
      exit[0] = 1;
      return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    });
    streams.setStateListener((now, before) -> {
      System.out.println("peer: state " + now);
      if (now == KafkaStreams.State.NOT_RUNNING || now == KafkaStreams.State.ERROR) stopped.countDown();
    });
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      streams.close(Duration.ofSeconds(60));
      try {
        HBaseSink.shutdown();
      } catch (Exception ignored) {
        // exiting anyway
      }
    }));
    if (args.containsKey("describe")) System.out.println(streams.toString());
    streams.start();
    stopped.await();
    System.exit(exit[0]);
  }
}
