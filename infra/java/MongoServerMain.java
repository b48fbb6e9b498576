import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;

/**
 * Entry point for the local MongoDB wire-protocol server (mongo-java-server is a library without a
 * main class). Started by the WAOOAW infra launcher with Java's single-file source mode.
 *
 * Usage: MongoServerMain --host 127.0.0.1 --port 27017 [--file /path/to/data.mv]
 * Without --file the data lives in memory (tests); with it, in an H2 MVStore file (npm start).
 */
public final class MongoServerMain {
    public static void main(String[] args) throws InterruptedException {
        String host = "127.0.0.1";
        int port = 27017;
        String file = null;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--host": host = args[i + 1]; break;
                case "--port": port = Integer.parseInt(args[i + 1]); break;
                case "--file": file = args[i + 1]; break;
                default: throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        MongoBackend backend = file == null ? new MemoryBackend() : new H2Backend(file);
        MongoServer server = new MongoServer(backend);
        // shutdown() closes the H2 store so every committed write reaches the file on SIGTERM.
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdown, "mongo-shutdown"));
        server.bind(host, port);
        System.out.println("mongo-java-server listening on " + host + ":" + port
                + (file == null ? " (in-memory)" : " (h2 file " + file + ")"));
        Thread.currentThread().join();
    }
}
