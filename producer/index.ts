/** Loading JSON, CSV and Avro data into Kafka: files, generated sets, batch or at a steady rate. */
export { avroEncoder, type AvroEncoding } from './avro.js';
export { produceDirectory, type DirectoryOptions, type DirectorySummary } from './directory.js';
export { clientSecurity, parseProperties, readClientProperties, type ClientSecurity } from './client-properties.js';
export { ProducerError, type ProducerErrorCode } from './errors.js';
export { ensureTopics, kafkaClient, newProducer } from './kafka.js';
export { keyOfCsv, keyOfJson } from './keys.js';
export { registerWriterSchemas, type RegistryTarget } from './registry.js';
export { sendMessages, type MessageStream, type Progress, type SendOptions, type SendSummary } from './produce.js';
export { detectFormat, readMessageChunks, readMessages, type FileFormat, type OutMessage, type ReadOptions } from './read.js';
