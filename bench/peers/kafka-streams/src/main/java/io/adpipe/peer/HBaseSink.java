package io.adpipe.peer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hbase.HBaseConfiguration;
import org.apache.hadoop.hbase.TableName;
import org.apache.hadoop.hbase.client.Connection;
import org.apache.hadoop.hbase.client.ConnectionFactory;
import org.apache.hadoop.hbase.client.Put;
import org.apache.hadoop.hbase.client.Table;
import org.apache.kafka.streams.processor.StateStore;
import org.apache.kafka.streams.processor.StateStoreContext;
import org.apache.kafka.streams.state.StoreBuilder;

/**
 * A write-behind "store" whose contents live in HBase: processors put absolute cell values into it
 * while they process; Kafka Streams flushes every store of a task before it commits the task's
 * transaction (offsets, changelogs, outputs), so a commit never gets ahead of HBase. After a crash
 * the restored state stores re-derive the same absolute values, so writing them again is harmless.
 */
final class HBaseSink implements StateStore {
  static final byte[] FAMILY = "a".getBytes(StandardCharsets.UTF_8);

  private static Connection connection;
  private static TableName tableName;

  static synchronized void open(String quorum, String znodeParent, String table) throws IOException {
    Configuration conf = HBaseConfiguration.create();
    String[] hostPort = quorum.split(",")[0].split(":");
    conf.set("hbase.zookeeper.quorum", hostPort[0]);
    if (hostPort.length > 1) conf.set("hbase.zookeeper.property.clientPort", hostPort[1]);
    conf.set("zookeeper.znode.parent", znodeParent);
    connection = ConnectionFactory.createConnection(conf);
    tableName = TableName.valueOf(table);
  }

  static synchronized Connection connection() {
    return connection;
  }

  static TableName table() {
    return tableName;
  }

  static synchronized void shutdown() throws IOException {
    if (connection != null) connection.close();
  }

  private final String name;
  private final Map<String, Map<String, byte[]>> buffer = new HashMap<>();
  private boolean open;

  HBaseSink(String name) {
    this.name = name;
  }

  /** Buffers one cell's absolute value; the last value of a cell before a flush is the one written. */
  void put(String row, String qualifier, byte[] value) {
    buffer.computeIfAbsent(row, r -> new HashMap<>()).put(qualifier, value);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public void init(StateStoreContext context, StateStore root) {
    context.register(root, (key, value) -> {});
    open = true;
  }

  @Override
  public void flush() {
    if (buffer.isEmpty()) return;
    List<Put> puts = new ArrayList<>(buffer.size());
    for (Map.Entry<String, Map<String, byte[]>> row : buffer.entrySet()) {
      Put put = new Put(row.getKey().getBytes(StandardCharsets.UTF_8));
      for (Map.Entry<String, byte[]> cell : row.getValue().entrySet()) put.addColumn(FAMILY, cell.getKey().getBytes(StandardCharsets.UTF_8), cell.getValue());
      puts.add(put);
    }
    try (Table table = connection().getTable(tableName)) {
      table.put(puts);
    } catch (IOException e) {
      throw new UncheckedIOException("HBase put of " + puts.size() + " rows into " + tableName + " failed", e);
    }
    buffer.clear();
  }

  @Override
  public void close() {
    open = false;
    buffer.clear();
  }

  @Override
  public boolean persistent() {
    return false;
  }

  @Override
  public boolean isOpen() {
    return open;
  }

  static StoreBuilder<HBaseSink> builder(String name) {
    return new StoreBuilder<>() {
      @Override
      public StoreBuilder<HBaseSink> withCachingEnabled() {
        return this;
      }

      @Override
      public StoreBuilder<HBaseSink> withCachingDisabled() {
        return this;
      }

      @Override
      public StoreBuilder<HBaseSink> withLoggingEnabled(Map<String, String> config) {
        return this;
      }

      @Override
      public StoreBuilder<HBaseSink> withLoggingDisabled() {
        return this;
      }

      @Override
      public HBaseSink build() {
        return new HBaseSink(name);
      }

      @Override
      public Map<String, String> logConfig() {
        return Map.of();
      }

      @Override
      public boolean loggingEnabled() {
        return false;
      }

      @Override
      public String name() {
        return name;
      }
    };
  }
}
