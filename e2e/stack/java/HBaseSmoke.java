import java.nio.charset.StandardCharsets;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hbase.HBaseConfiguration;
import org.apache.hadoop.hbase.TableName;
import org.apache.hadoop.hbase.client.Admin;
import org.apache.hadoop.hbase.client.ColumnFamilyDescriptorBuilder;
import org.apache.hadoop.hbase.client.Connection;
import org.apache.hadoop.hbase.client.ConnectionFactory;
import org.apache.hadoop.hbase.client.Get;
import org.apache.hadoop.hbase.client.Put;
import org.apache.hadoop.hbase.client.Table;
import org.apache.hadoop.hbase.client.TableDescriptorBuilder;

/**
 * The local stack's HBase smoke test through HBase's own Java client, until the TypeScript HBase
 * module exists: create a table, write a cell, read it back, drop the table. Prints the value read.
 * Run as a single-file program: java -cp '<conf>:<hbase lib>/*' HBaseSmoke.java <zk quorum> <table> <value>
 */
public class HBaseSmoke {
  public static void main(String[] args) throws Exception {
    String[] quorum = args[0].split(":");
    TableName name = TableName.valueOf(args[1]);
    byte[] family = "f".getBytes(StandardCharsets.UTF_8);
    byte[] qualifier = "q".getBytes(StandardCharsets.UTF_8);
    Configuration conf = HBaseConfiguration.create();
    conf.set("hbase.zookeeper.quorum", quorum[0]);
    conf.set("hbase.zookeeper.property.clientPort", quorum[1]);
    try (Connection connection = ConnectionFactory.createConnection(conf); Admin admin = connection.getAdmin()) {
      admin.createTable(TableDescriptorBuilder.newBuilder(name).setColumnFamily(ColumnFamilyDescriptorBuilder.of(family)).build());
      try (Table table = connection.getTable(name)) {
        table.put(new Put("row-1".getBytes(StandardCharsets.UTF_8)).addColumn(family, qualifier, args[2].getBytes(StandardCharsets.UTF_8)));
        byte[] value = table.get(new Get("row-1".getBytes(StandardCharsets.UTF_8))).getValue(family, qualifier);
        System.out.println("value=" + new String(value, StandardCharsets.UTF_8));
      }
      admin.disableTable(name);
      admin.deleteTable(name);
    }
  }
}
