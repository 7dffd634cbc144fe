import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hbase.HBaseConfiguration;
import org.apache.hadoop.hbase.TableName;
import org.apache.hadoop.hbase.client.Connection;
import org.apache.hadoop.hbase.client.ConnectionFactory;
import org.apache.hadoop.hbase.client.Put;
import org.apache.hadoop.hbase.client.Table;

/**
 * The Java side of `npm run bench -- hbase`: writes the same rows as bench/hbase.ts (same keys,
 * same four 50-byte cells) with HBase's own client, in synchronous batches of Table.put(List).
 * The table must exist. Prints one line: {"rows":N,"ms":M,"cpu_ms":C} (C: this JVM's CPU time
 * during the writes, all threads, JIT included). Timing starts after the connection is
 * open and ends when the last batch is acknowledged, like the TypeScript side.
 * Run as a single-file program: java <hbaseJvmArgs> HBaseBench.java <zk host:port> <table> <rows> <batch>
 */
public class HBaseBench {
  static final byte[] FAMILY = bytes("d");
  static final byte[][] QUALIFIERS = {bytes("a"), bytes("b"), bytes("c"), bytes("e")};

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Same as rowKey() in bench/hbase.ts: a hashed prefix spreads rows over the pre-split regions. */
  static String rowKey(int i) {
    long hash = (i * 2654435761L) & 0xffffffffL;
    return String.format("%08x-%d", hash, i);
  }

  /** Same as cellValue() in bench/hbase.ts: 50 bytes. */
  static byte[] cellValue(int i, int column) {
    StringBuilder sb = new StringBuilder(String.format("%d:%d:", i, column));
    while (sb.length() < 50) sb.append('x');
    return bytes(sb.substring(0, 50));
  }

  public static void main(String[] args) throws Exception {
    String[] quorum = args[0].split(":");
    TableName name = TableName.valueOf(args[1]);
    int rows = Integer.parseInt(args[2]);
    int batch = Integer.parseInt(args[3]);
    Configuration conf = HBaseConfiguration.create();
    conf.set("hbase.zookeeper.quorum", quorum[0]);
    conf.set("hbase.zookeeper.property.clientPort", quorum[1]);
    try (Connection connection = ConnectionFactory.createConnection(conf); Table table = connection.getTable(name)) {
      com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
      long cpuStarted = os.getProcessCpuTime();
      long started = System.nanoTime();
      for (int start = 0; start < rows; start += batch) {
        List<Put> puts = new ArrayList<>(batch);
        for (int i = start; i < Math.min(rows, start + batch); i++) {
          Put put = new Put(bytes(rowKey(i)));
          for (int c = 0; c < QUALIFIERS.length; c++) put.addColumn(FAMILY, QUALIFIERS[c], cellValue(i, c));
          puts.add(put);
        }
        table.put(puts);
      }
      long ms = (System.nanoTime() - started) / 1_000_000;
      long cpuMs = (os.getProcessCpuTime() - cpuStarted) / 1_000_000;
      System.out.println("{\"rows\":" + rows + ",\"ms\":" + ms + ",\"cpu_ms\":" + cpuMs + "}");
    }
  }
}
