package searchidx.cluster;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.transport.Netty4Plugin;

/**
 * One OpenSearch node in this JVM, for searchidx's cluster tests and benchmarks.
 *
 * <p>Usage: {@code ClusterNode HOME NAME HTTP_PORT TRANSPORT_PORT SEED_PORTS MANAGER_NAMES}, where
 * SEED_PORTS are the transport ports of every node (comma-separated) and MANAGER_NAMES the node
 * names of the first cluster. Binds to 127.0.0.1 only. Runs until the process is killed.
 */
public final class ClusterNode extends Node {

    private ClusterNode(Environment environment) {
        super(environment, List.of(Netty4Plugin.class, CommonAnalysisPlugin.class), true);
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 6) {
            System.err.println("usage: ClusterNode HOME NAME HTTP_PORT TRANSPORT_PORT SEED_PORTS MANAGER_NAMES");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        String name = args[1];
        for (String folder : List.of("config", "modules", "plugins", "data", "logs")) {
            Files.createDirectories(home.resolve(folder));
        }
        Path logConfig = home.resolve("config").resolve("log4j2.properties");
        if (!Files.exists(logConfig)) {
            Files.writeString(logConfig, String.join("\n",
                "status = error",
                "appender.console.type = Console",
                "appender.console.name = console",
                "appender.console.layout.type = PatternLayout",
                "appender.console.layout.pattern = [%d{ISO8601}][%-5p][%c{1.}] [%node_name] %m%n",
                "rootLogger.level = warn",
                "rootLogger.appenderRef.console.ref = console",
                ""));
        }
        List<String> seeds = List.of(args[4].split(",")).stream().map(port -> "127.0.0.1:" + port).toList();
        Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("node.name", name)
            .put("cluster.name", "searchidx-test")
            .put("network.host", "127.0.0.1")
            .put("http.port", args[2])
            .put("transport.port", args[3])
            .put("http.type", "netty4")
            .put("transport.type", "netty4")
            .putList("discovery.seed_hosts", seeds)
            .putList("cluster.initial_cluster_manager_nodes", List.of(args[5].split(",")))
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("node.processors", 1)
            .put("action.auto_create_index", false)
            .build();
        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            settings, Map.of(), home.resolve("config"), () -> name);
        ClusterNode node = new ClusterNode(environment);
        node.start();
        System.out.println("started " + name);
        System.out.flush();
        new CountDownLatch(1).await();
    }
}
