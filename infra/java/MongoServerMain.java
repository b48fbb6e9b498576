import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.backend.memory.MemoryCollection;
import de.bwaldvogel.mongo.backend.memory.MemoryDatabase;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.ObjectId;
import de.bwaldvogel.mongo.wire.bson.BsonDecoder;
import de.bwaldvogel.mongo.wire.bson.BsonEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Entry point for the local MongoDB wire-protocol server (mongo-java-server is a library without a
 * main class). Started by the WAOOAW infra launcher with Java's single-file source mode.
 *
 * Usage: MongoServerMain --host 127.0.0.1 --port 27017 [--journal /path/to/waooaw.journal]
 * Without --journal the data lives in memory only (tests); with it, every acknowledged write is in
 * the journal file first (npm start, the chaos run), so a server killed with SIGKILL comes back with
 * everything it had acknowledged.
 */
public final class MongoServerMain {
    public static void main(String[] args) throws InterruptedException, IOException {
        String host = "127.0.0.1";
        int port = 27017;
        String journal = null;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--host": host = args[i + 1]; break;
                case "--port": port = Integer.parseInt(args[i + 1]); break;
                case "--journal": journal = args[i + 1]; break;
                default: throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        MongoBackend backend = journal == null ? new LeanMemoryBackend() : JournaledMemoryBackend.open(Paths.get(journal));
        MongoServer server = new MongoServer(backend);
        // shutdown() closes the backend, which forces the journal to disk on SIGTERM.
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdown, "mongo-shutdown"));
        server.bind(host, port);
        System.out.println("mongo-java-server listening on " + host + ":" + port
                + (journal == null ? " (in-memory)" : " (journal " + journal + ")"));
        Thread.currentThread().join();
    }

    /**
     * The in-memory backend without data-size bookkeeping: the stock one BSON-encodes a document
     * twice on every update to keep collStats' dataSize current, which under the bench's load (tens of
     * thousands of task updates a minute, documents carrying outputs) was the largest share of the
     * server's CPU. Nothing in WAOOAW reads dataSize; everything else is the stock backend.
     */
    static class LeanMemoryBackend extends MemoryBackend {
        /**
         * Commands received since start, by name (lower case): `serverStatus` answers them under
         * `waooaw.commands`. The bench divides their increase by the tasks done, a cost per task that
         * does not depend on how fast the machine is (mongod's own opcounters count documents for
         * writes, not requests, and this server keeps none).
         */
        private final Map<String, LongAdder> commands = new ConcurrentHashMap<>();
        /** The same by command and collection ("update waooaw_orchestration.tasks"): where the commands go. */
        private final Map<String, LongAdder> byCollection = new ConcurrentHashMap<>();
        /** Queries answered by reading the whole collection, by "db.collection" (see LeanMemoryDatabase). */
        private final Map<String, LongAdder> scans = new ConcurrentHashMap<>();

        @Override
        public MemoryDatabase openOrCreateDatabase(String databaseName) {
            return new LeanMemoryDatabase(databaseName, getCursorRegistry(), scans);
        }

        /** Whether a command on this channel is a client's (counted) rather than the server's own. */
        protected boolean fromClient(Channel channel) {
            return true;
        }

        @Override
        public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
            String name = command.toLowerCase(Locale.ROOT);
            if (fromClient(channel)) {
                commands.computeIfAbsent(name, k -> new LongAdder()).increment();
                Object collection = query.get(command);
                if (collection instanceof String) {
                    byCollection.computeIfAbsent(name + " " + databaseName + "." + collection, k -> new LongAdder()).increment();
                }
            }
            Document response = super.handleCommand(channel, databaseName, command, query);
            if (name.equals("serverstatus")) {
                response.put("waooaw", new Document("commands", snapshot(commands))
                        .append("byCollection", snapshot(byCollection))
                        .append("scans", snapshot(scans)));
            }
            return response;
        }

        private static Document snapshot(Map<String, LongAdder> counts) {
            Document out = new Document();
            new TreeMap<>(counts).forEach((k, v) -> out.put(k, v.sum()));
            return out;
        }
    }

    static final class LeanMemoryDatabase extends MemoryDatabase {
        private final Map<String, LongAdder> scans;

        LeanMemoryDatabase(String databaseName, CursorRegistry cursorRegistry, Map<String, LongAdder> scans) {
            super(databaseName, cursorRegistry);
            this.scans = scans;
        }

        @Override
        protected MemoryCollection openOrCreateCollection(String collectionName, CollectionOptions options) {
            String fullName = getDatabaseName() + "." + collectionName;
            return new MemoryCollection(this, collectionName, options, cursorRegistry) {
                @Override
                protected boolean tracksDataSize() {
                    return false;
                }

                /**
                 * The stock planner uses an index only when the query names exactly the index's fields:
                 * `{_id, rev}` (every revision-guarded write) scanned the whole collection, so a
                 * write's cost grew with the number of tasks ever stored. (The services used to
                 * declare a unique `{_id, rev}` index to get around it, which every write then had to
                 * keep up: about a tenth of this server's CPU under the bench.) mongod narrows by any index
                 * whose fields the query pins and filters the rest; so does this, for equality and
                 * $in on plain values (what the stock index lookup supports), and it keeps the stock
                 * behaviour for everything else. Queries that still scan are counted
                 * (`serverStatus.waooaw.scans`), so a query that needs an index shows in the bench.
                 */
                @Override
                protected QueryResult queryDocuments(Document query, Document orderBy, int numberToSkip, int limit,
                        int batchSize, Document fieldSelector) {
                    Index<Integer> exact = null;
                    Index<Integer> narrowing = null;
                    Document narrowingQuery = null;
                    for (Index<Integer> index : getIndexes()) {
                        if (index.canHandle(query)) {
                            exact = index;
                            break;
                        }
                        Document pinned = pinnedBy(index, query);
                        if (pinned != null && (narrowing == null || index.isUnique() && !narrowing.isUnique())) {
                            narrowing = index;
                            narrowingQuery = pinned;
                        }
                    }
                    if (exact == null && narrowing != null) {
                        return matchDocuments(query, narrowing.getPositions(narrowingQuery), orderBy, numberToSkip,
                                limit, batchSize, fieldSelector);
                    }
                    if (exact == null && !query.isEmpty()) {
                        scans.computeIfAbsent(fullName, k -> new LongAdder()).increment();
                    }
                    return super.queryDocuments(query, orderBy, numberToSkip, limit, batchSize, fieldSelector);
                }
            };
        }

        /**
         * The part of `query` on `index`'s fields when the query pins every one of them to a plain
         * value or a $in of plain values (and names other fields too); else null. Null and documents
         * are left out: a sparse index has no entry for a missing field, which `null` would match.
         */
        private static Document pinnedBy(Index<Integer> index, Document query) {
            List<IndexKey> keys = index.getKeys();
            if (query.size() <= keys.size()) return null;
            Document pinned = new Document();
            for (IndexKey indexKey : keys) {
                String key = indexKey.getKey();
                if (!query.containsKey(key)) return null;
                Object value = query.get(key);
                if (value instanceof Document) {
                    Document operators = (Document) value;
                    if (operators.size() != 1 || !(operators.get("$in") instanceof List)) return null;
                    for (Object element : (List<?>) operators.get("$in")) if (!isPlain(element)) return null;
                    if (keys.size() > 1) return null;
                } else if (!isPlain(value)) {
                    return null;
                }
                pinned.put(key, value);
            }
            return index.canHandle(pinned) ? pinned : null;
        }

        private static boolean isPlain(Object value) {
            return value instanceof String || value instanceof Number || value instanceof ObjectId
                    || value instanceof Boolean || value instanceof java.util.Date || value instanceof java.util.UUID;
        }
    }

    /**
     * Persistence for the in-memory backend: a journal of the write commands it applied, replayed at
     * start.
     *
     * Why not the stock H2 backend: committing its MVStore before answering each request (without
     * that, a SIGKILL lost writes already acknowledged) made it the platform's bottleneck; the chaos
     * run's 100 tasks/s got about 20 through. The memory backend is several times faster, and
     * appending one record per write costs a buffer encode and one write(2).
     *
     * Guarantees: a write's record is in the file (the OS has it, so it survives the process, not the
     * host) before the write is answered. Writes are applied and journaled under one lock, so the
     * journal's order is the order they took effect in, and replaying it rebuilds the same state.
     * Reads never take the lock. A record cut short by a kill mid-append was never answered; it is
     * dropped at start.
     *
     * Replay is deterministic because what the server would choose itself is fixed in the record:
     * inserted documents get their _id before they are applied, and an upsert's generated _id is
     * written into its query. (WAOOAW uses no server-side clock values: no $currentDate, no TTL.)
     *
     * Size: at start, and whenever the journal has grown past twice its last compacted size (at least
     * 64 MiB), it is rewritten as a snapshot (collections, indexes, documents) and swapped in with an
     * atomic rename. Writes wait while the snapshot is taken (each compaction logs how long). The
     * bound matters for restarts: replaying commands costs what running them cost (a chaos run's
     * restart replayed 54,577 records, 186 MB, in 53 s on a loaded machine); a snapshot's bulk
     * inserts cost far less.
     */
    static final class JournaledMemoryBackend extends LeanMemoryBackend {
        private static final Set<String> WRITE_COMMANDS = Set.of("insert", "update", "delete", "findandmodify",
                "create", "createindexes", "drop", "dropindexes", "dropdatabase", "renamecollection");
        private static final long MIN_COMPACT_BYTES = 64L << 20;
        private static final int SNAPSHOT_BATCH_BYTES = 8 << 20;

        private final Path file;
        private final ReentrantLock writeLock = new ReentrantLock();
        // Commands replayed or snapshotted have no client; the backend keys per-connection state by channel.
        private final Channel internalChannel = new EmbeddedChannel();
        private final ExecutorService compactor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "journal-compactor");
            t.setDaemon(true);
            return t;
        });
        private final AtomicBoolean compacting = new AtomicBoolean();
        private Journal journal;
        private long compactAtBytes = MIN_COMPACT_BYTES;

        private JournaledMemoryBackend(Path file) {
            this.file = file;
        }

        static JournaledMemoryBackend open(Path file) throws IOException {
            JournaledMemoryBackend backend = new JournaledMemoryBackend(file);
            long started = System.nanoTime();
            long records = Journal.replay(file, backend::replayRecord);
            backend.compact();
            System.out.printf(Locale.ROOT, "journal %s: %d records replayed in %.1f s, compacted to %d bytes%n", file,
                    records, (System.nanoTime() - started) / 1e9, backend.journal.size());
            return backend;
        }

        @Override
        protected boolean fromClient(Channel channel) {
            return channel != internalChannel;
        }

        private void replayRecord(String databaseName, Document query) {
            String command = query.keySet().iterator().next();
            try {
                super.handleCommand(internalChannel, databaseName, command, query);
            } catch (RuntimeException e) {
                // It failed the same way when it was first run (a duplicate key, a missing collection):
                // the record is kept because a failing command can still have applied part of a batch.
            }
        }

        @Override
        public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
            if (!WRITE_COMMANDS.contains(command.toLowerCase(Locale.ROOT))) {
                return super.handleCommand(channel, databaseName, command, query);
            }
            writeLock.lock();
            try {
                if (command.equalsIgnoreCase("insert")) assignIds(query);
                if (command.equalsIgnoreCase("findAndModify")) pinUpsertId(databaseName, command, query);
                Document response;
                try {
                    response = super.handleCommand(channel, databaseName, command, query);
                } catch (RuntimeException e) {
                    append(databaseName, query);
                    throw e;
                }
                fixUpsertedIds(command, query, response);
                append(databaseName, query);
                return response;
            } finally {
                writeLock.unlock();
                if (journal.size() > compactAtBytes && compacting.compareAndSet(false, true)) {
                    compactor.execute(() -> {
                        try {
                            long began = System.nanoTime();
                            compact();
                            System.out.printf(Locale.ROOT, "journal compacted to %d bytes in %.1f s%n", journal.size(),
                                    (System.nanoTime() - began) / 1e9);
                        } catch (IOException | RuntimeException e) {
                            System.err.println("journal compaction failed (the journal keeps growing): " + e);
                        } finally {
                            compacting.set(false);
                        }
                    });
                }
            }
        }

        private void append(String databaseName, Document query) {
            try {
                journal.append(databaseName, query);
            } catch (IOException | RuntimeException e) {
                // A write applied in memory but not in the journal would be acknowledged and then lost
                // at the next start. Stop instead: clients see the server gone and wait for it.
                System.err.println("cannot append to the journal " + file + "; stopping: " + e);
                Runtime.getRuntime().halt(70);
            }
        }

        @SuppressWarnings("unchecked")
        private static void assignIds(Document query) {
            Object documents = query.get("documents");
            if (!(documents instanceof List)) return;
            for (Object document : (List<Object>) documents) {
                if (document instanceof Document && !((Document) document).containsKey("_id")) {
                    ((Document) document).put("_id", new ObjectId());
                }
            }
        }

        /**
         * A findAndModify that will upsert gets its _id chosen here, in its query: its answer does not
         * name the _id the backend made up. Nothing matches the query (checked under the write lock,
         * so nothing can start to), so adding the _id changes no match.
         */
        private void pinUpsertId(String databaseName, String command, Document query) {
            if (!Boolean.TRUE.equals(query.get("upsert")) && !Integer.valueOf(1).equals(query.get("upsert"))) return;
            Document selector = query.get("query") instanceof Document ? (Document) query.get("query") : new Document();
            if (selector.containsKey("_id")) return;
            MongoCollection<?> collection = resolveDatabase(databaseName).resolveCollection(String.valueOf(query.get(command)), false);
            if (collection == null || collection.count(selector, 0, 1) == 0) pinId(query, "query", new ObjectId());
        }

        /** An update's upserts name their _ids in the answer; the record keeps them in their queries. */
        @SuppressWarnings("unchecked")
        private static void fixUpsertedIds(String command, Document query, Document response) {
            if (command.equalsIgnoreCase("update") && response.get("upserted") instanceof List) {
                List<Document> updates = (List<Document>) query.get("updates");
                for (Document upserted : (List<Document>) response.get("upserted")) {
                    Document update = updates.get(((Number) upserted.get("index")).intValue());
                    pinId(update, "q", upserted.get("_id"));
                }
            }
        }

        private static void pinId(Document holder, String field, Object id) {
            Document selector = holder.get(field) instanceof Document ? (Document) holder.get(field) : new Document();
            if (!selector.containsKey("_id")) selector.put("_id", id);
            holder.put(field, selector);
        }

        /** Rewrites the journal as a snapshot of what is in memory now, swapped in atomically. */
        private void compact() throws IOException {
            writeLock.lock();
            try {
                Path next = file.resolveSibling(file.getFileName() + ".next");
                try (Journal snapshotJournal = Journal.create(next)) {
                    snapshot(this, internalChannel, snapshotJournal);
                    snapshotJournal.force();
                }
                if (journal != null) journal.close();
                Files.move(next, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                journal = Journal.append(file);
                compactAtBytes = Math.max(MIN_COMPACT_BYTES, 2 * journal.size());
            } finally {
                writeLock.unlock();
            }
        }

        /** Writes, as commands, what rebuilds source's data: each collection, its indexes, its documents. */
        @SuppressWarnings("unchecked")
        private static void snapshot(MongoBackend source, Channel channel, Journal out) throws IOException {
            Document databases = source.handleCommand(channel, "admin", "listDatabases", new Document("listDatabases", 1));
            for (Document db : (List<Document>) databases.get("databases")) {
                String databaseName = (String) db.get("name");
                if (databaseName.equals("admin") || databaseName.equals("local")) continue;
                Document collections = source.handleCommand(channel, databaseName, "listCollections",
                        new Document("listCollections", 1));
                for (Document info : firstBatch(collections)) {
                    String name = (String) info.get("name");
                    if (name.startsWith("system.")) continue;
                    out.append(databaseName, new Document("create", name));
                    Document indexes = source.handleCommand(channel, databaseName, "listIndexes", new Document("listIndexes", name));
                    List<Document> secondary = new ArrayList<>();
                    for (Document index : firstBatch(indexes)) {
                        if (!"_id_".equals(index.get("name"))) secondary.add(index);
                    }
                    if (!secondary.isEmpty()) {
                        out.append(databaseName, new Document("createIndexes", name).append("indexes", secondary));
                    }
                    MongoCollection<?> collection = source.resolveDatabase(databaseName).resolveCollection(name, false);
                    if (collection == null) continue;
                    List<Document> batch = new ArrayList<>();
                    int batchBytes = 0;
                    for (Document document : collection.queryAll()) {
                        batch.add(document);
                        batchBytes += Journal.encodedSize(document);
                        if (batchBytes >= SNAPSHOT_BATCH_BYTES) {
                            out.append(databaseName, insertOf(name, batch));
                            batch = new ArrayList<>();
                            batchBytes = 0;
                        }
                    }
                    if (!batch.isEmpty()) out.append(databaseName, insertOf(name, batch));
                }
            }
        }

        private static Document insertOf(String collection, List<Document> documents) {
            return new Document("insert", collection).append("ordered", Boolean.FALSE).append("documents", documents);
        }

        @SuppressWarnings("unchecked")
        private static List<Document> firstBatch(Document cursorResponse) {
            return (List<Document>) ((Document) cursorResponse.get("cursor")).get("firstBatch");
        }

        @Override
        public void close() {
            writeLock.lock();
            try {
                if (journal != null) {
                    journal.force();
                    journal.close();
                }
            } catch (IOException e) {
                System.err.println("closing the journal failed: " + e);
            } finally {
                writeLock.unlock();
            }
            super.close();
        }
    }

    /** An append-only file of BSON records {d: database, q: command document}. */
    static final class Journal implements AutoCloseable {
        private final FileChannel channel;
        private long size;

        private Journal(FileChannel channel) throws IOException {
            this.channel = channel;
            this.size = channel.size();
        }

        static Journal create(Path path) throws IOException {
            return new Journal(FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING));
        }

        static Journal append(Path path) throws IOException {
            FileChannel channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            channel.position(channel.size());
            return new Journal(channel);
        }

        interface RecordHandler {
            void accept(String databaseName, Document query);
        }

        /** Applies each whole record in order; a torn last record is cut off. Returns the count applied. */
        static long replay(Path path, RecordHandler handler) throws IOException {
            if (!Files.exists(path)) return 0;
            long records = 0;
            long good = 0;
            try (InputStream in = new BufferedInputStream(Files.newInputStream(path), 1 << 20);
                 DataInputStream data = new DataInputStream(in)) {
                while (true) {
                    int length;
                    try {
                        length = Integer.reverseBytes(data.readInt());
                    } catch (EOFException end) {
                        break;
                    }
                    if (length < 5) break;
                    byte[] bytes = new byte[length];
                    bytes[0] = (byte) length;
                    bytes[1] = (byte) (length >>> 8);
                    bytes[2] = (byte) (length >>> 16);
                    bytes[3] = (byte) (length >>> 24);
                    try {
                        data.readFully(bytes, 4, length - 4);
                    } catch (EOFException torn) {
                        break;
                    }
                    Document record = BsonDecoder.decodeBson(Unpooled.wrappedBuffer(bytes));
                    handler.accept((String) record.get("d"), (Document) record.get("q"));
                    good += length;
                    records++;
                }
            }
            if (good < Files.size(path)) {
                try (FileChannel channel = FileChannel.open(path, StandardOpenOption.WRITE)) {
                    channel.truncate(good);
                }
            }
            return records;
        }

        static int encodedSize(Document document) {
            ByteBuf buf = Unpooled.buffer();
            try {
                BsonEncoder.encodeDocument(document, buf);
                return buf.readableBytes();
            } finally {
                buf.release();
            }
        }

        void append(String databaseName, Document query) throws IOException {
            ByteBuf buf = Unpooled.buffer(512);
            try {
                BsonEncoder.encodeDocument(new Document("d", databaseName).append("q", query), buf);
                ByteBuffer bytes = buf.nioBuffer();
                while (bytes.hasRemaining()) size += channel.write(bytes);
            } finally {
                buf.release();
            }
        }

        long size() {
            return size;
        }

        void force() throws IOException {
            channel.force(false);
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    private MongoServerMain() {}
}
