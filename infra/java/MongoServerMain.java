import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.backend.memory.MemoryCollection;
import de.bwaldvogel.mongo.backend.memory.MemoryDatabase;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.wire.message.MongoMessage;
import io.netty.channel.Channel;

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
        MongoBackend backend = file == null ? new LeanMemoryBackend() : new DurableH2Backend(file);
        MongoServer server = new MongoServer(backend);
        // shutdown() closes the H2 store so every committed write reaches the file on SIGTERM.
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdown, "mongo-shutdown"));
        server.bind(host, port);
        System.out.println("mongo-java-server listening on " + host + ":" + port
                + (file == null ? " (in-memory)" : " (h2 file " + file + ")"));
        Thread.currentThread().join();
    }

    /**
     * The H2 backend, committing the MVStore after every request before it is answered. The stock
     * one leaves commits to MVStore's background writer (once a second), so a server killed with
     * SIGKILL forgot writes it had already acknowledged: tasks the platform had accepted, attempts
     * it had recorded. A commit with nothing changed (a read) returns at once; a write's commit
     * appends its chunk to the file (the OS has it then, so it survives the process, not the host).
     */
    static final class DurableH2Backend extends H2Backend {
        DurableH2Backend(String file) {
            super(file);
        }

        @Override
        public Document handleMessage(MongoMessage message) {
            try {
                return super.handleMessage(message);
            } finally {
                commit();
            }
        }

        @Override
        public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
            try {
                return super.handleCommand(channel, databaseName, command, query);
            } finally {
                commit();
            }
        }
    }

    /**
     * The in-memory backend without data-size bookkeeping: the stock one BSON-encodes a document
     * twice on every update to keep collStats' dataSize current, which under the bench's load (tens of
     * thousands of task updates a minute, documents carrying outputs) was the largest share of the
     * server's CPU. Nothing in WAOOAW reads dataSize; everything else is the stock backend.
     */
    static final class LeanMemoryBackend extends MemoryBackend {
        @Override
        public MemoryDatabase openOrCreateDatabase(String databaseName) {
            return new LeanMemoryDatabase(databaseName, getCursorRegistry());
        }
    }

    static final class LeanMemoryDatabase extends MemoryDatabase {
        LeanMemoryDatabase(String databaseName, CursorRegistry cursorRegistry) {
            super(databaseName, cursorRegistry);
        }

        @Override
        protected MemoryCollection openOrCreateCollection(String collectionName, CollectionOptions options) {
            return new MemoryCollection(this, collectionName, options, cursorRegistry) {
                @Override
                protected boolean tracksDataSize() {
                    return false;
                }
            };
        }
    }
}
