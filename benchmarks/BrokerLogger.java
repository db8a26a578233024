// Sets a log level of the running test bed broker at run time (IncrementalAlterConfigs on the
// BROKER_LOGGER resource), with Kafka's own Java Admin client. confluent-kafka (librdkafka) has
// no BROKER_LOGGER resource type. Used by bench_redpanda_acl.py to switch the broker's request
// log (kafka.request.logger) on and off, so requests are counted by the broker itself.
//
//   java -cp '.tools/kafka/libs/*' benchmarks/BrokerLogger.java \
//       BOOTSTRAP USER PASSWORD_FILE BROKER_ID LOGGER LEVEL
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;

public class BrokerLogger {
    public static void main(String[] args) throws Exception {
        String password = Files.readString(Path.of(args[2])).trim();
        Properties props = new Properties();
        props.put("bootstrap.servers", args[0]);
        props.put("security.protocol", "SASL_PLAINTEXT");
        props.put("sasl.mechanism", "SCRAM-SHA-512");
        props.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule"
                + " required username=\"" + args[1] + "\" password=\"" + password + "\";");
        props.put("client.id", "bench-broker-logger");
        try (Admin admin = Admin.create(props)) {
            ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER_LOGGER, args[3]);
            AlterConfigOp op = new AlterConfigOp(new ConfigEntry(args[4], args[5]),
                                                 AlterConfigOp.OpType.SET);
            admin.incrementalAlterConfigs(Map.of(broker, List.of(op))).all().get();
        }
        System.out.println(args[4] + "=" + args[5]);
    }
}
