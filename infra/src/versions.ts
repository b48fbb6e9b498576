/**
 * Versions of the servers the launcher assembles from Maven Central.
 *
 * Kafka 4.3.1 is the newest 4.x whose artefacts are all on Maven Central: 4.4.0's
 * `kafka-tools-api` is missing there (HTTP 404), so it cannot be assembled. kafkajs 2.2.4 was
 * probed against 4.3.1 (idempotent producer with acks=all, consumer groups with manual commits,
 * admin create/describe/delete) and works, so there is no reason to fall back to 3.9.x.
 * Kafka 4.x logs through SLF4J 1.7, hence the log4j-slf4j-impl (not slf4j2) binding.
 */
export const KAFKA_VERSION = '4.3.1';
export const LOG4J_VERSION = '2.24.3';
export const MONGO_JAVA_SERVER_VERSION = '1.47.0';
export const SLF4J_SIMPLE_VERSION = '2.0.17';
