import fs from 'node:fs';
import path from 'node:path';
import { ProducerError } from './errors.js';

/**
 * A Kafka client properties file, as Kafka's tools take with `--command-config` (decision 0112):
 * `security.protocol`, `sasl.mechanism`, and the credentials either as Java's `sasl.jaas.config`
 * or librdkafka's `sasl.username`/`sasl.password`; the CA as a PEM file (`ssl.truststore.location`
 * with `ssl.truststore.type=PEM`, or `ssl.ca.location`); a client certificate for mutual TLS as
 * `ssl.certificate.location` + `ssl.key.location`. What it cannot honour (a JKS trust store, GSSAPI)
 * is refused with the key named; keys outside security are ignored, as Kafka's tools ignore them.
 */
export interface ClientSecurity {
  ssl?: { ca?: string[]; cert?: string; key?: string } | true;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
}

const PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
const MECHANISMS = { PLAIN: 'plain', 'SCRAM-SHA-256': 'scram-sha-256', 'SCRAM-SHA-512': 'scram-sha-512' } as const;
const KNOWN = new Set([
  'security.protocol',
  'sasl.mechanism',
  'sasl.mechanisms',
  'sasl.jaas.config',
  'sasl.username',
  'sasl.password',
  'ssl.truststore.type',
  'ssl.truststore.location',
  'ssl.ca.location',
  'ssl.certificate.location',
  'ssl.key.location',
  'ssl.endpoint.identification.algorithm',
]);

/** Java properties: `key=value` or `key: value`, `#`/`!` comments, `\` line continuations. Pure. */
export function parseProperties(text: string): Map<string, string> {
  const properties = new Map<string, string>();
  const lines = text.replace(/\\\r?\n[ \t]*/g, '').split(/\r?\n/);
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('!')) continue;
    const match = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (match) properties.set(match[1]!, match[2]!.trim());
  }
  return properties;
}

/** The username and password of a PlainLoginModule or ScramLoginModule JAAS line. Pure. */
function jaasCredentials(jaas: string, file: string): { username: string; password: string } {
  const option = (name: string) => new RegExp(`\\b${name}\\s*=\\s*"((?:[^"\\\\]|\\\\.)*)"`).exec(jaas)?.[1]?.replace(/\\(.)/g, '$1');
  const username = option('username');
  const password = option('password');
  if (!/(PlainLoginModule|ScramLoginModule)\s+required/.test(jaas) || username === undefined || password === undefined) {
    // Never echo the line: it holds the password.
    throw new ProducerError('PRODUCE_OPTIONS', `${file}: sasl.jaas.config must be a PlainLoginModule or ScramLoginModule line with username="…" password="…"`);
  }
  return { username, password };
}

/**
 * The kafkajs security options a properties file asks for. `read` loads the files it names
 * (relative paths are relative to the properties file).
 */
export function clientSecurity(properties: Map<string, string>, file: string, read: (file: string) => string = (f) => fs.readFileSync(f, 'utf8')): ClientSecurity {
  for (const key of properties.keys()) {
    if (/^(ssl|sasl|security)\./.test(key) && !KNOWN.has(key)) throw new ProducerError('PRODUCE_OPTIONS', `${file}: ${key} is not supported; use ${[...KNOWN].join(', ')}`);
  }
  const protocol = (properties.get('security.protocol') ?? 'PLAINTEXT').toUpperCase();
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) throw new ProducerError('PRODUCE_OPTIONS', `${file}: security.protocol=${protocol}: use one of ${PROTOCOLS.join(', ')}`);
  const load = (key: string) => {
    const value = properties.get(key);
    if (value === undefined) return undefined;
    const resolved = path.resolve(path.dirname(file), value);
    try {
      return read(resolved);
    } catch (error) {
      throw new ProducerError('PRODUCE_OPTIONS', `${file}: ${key}=${value}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  };
  const security: ClientSecurity = {};
  if (protocol === 'SSL' || protocol === 'SASL_SSL') {
    const storeType = (properties.get('ssl.truststore.type') ?? (properties.has('ssl.truststore.location') ? 'JKS' : 'PEM')).toUpperCase();
    if (storeType !== 'PEM') throw new ProducerError('PRODUCE_OPTIONS', `${file}: ssl.truststore.type=${storeType}: only PEM trust stores are read; set ssl.truststore.type=PEM with a PEM CA file`);
    const ca = load('ssl.truststore.location') ?? load('ssl.ca.location');
    const cert = load('ssl.certificate.location');
    const key = load('ssl.key.location');
    if ((cert === undefined) !== (key === undefined)) throw new ProducerError('PRODUCE_OPTIONS', `${file}: ssl.certificate.location and ssl.key.location go together`);
    security.ssl = ca || cert ? { ...(ca ? { ca: [ca] } : {}), ...(cert ? { cert, key: key! } : {}) } : true;
  } else {
    for (const key of ['ssl.truststore.location', 'ssl.ca.location', 'ssl.certificate.location']) {
      if (properties.has(key)) throw new ProducerError('PRODUCE_OPTIONS', `${file}: ${key} is set but security.protocol=${protocol} uses no TLS; set security.protocol=SASL_SSL or SSL`);
    }
  }
  if (protocol === 'SASL_SSL' || protocol === 'SASL_PLAINTEXT') {
    const name = (properties.get('sasl.mechanism') ?? properties.get('sasl.mechanisms') ?? 'GSSAPI').toUpperCase();
    const mechanism = MECHANISMS[name as keyof typeof MECHANISMS];
    if (!mechanism) throw new ProducerError('PRODUCE_OPTIONS', `${file}: sasl.mechanism=${name}: use one of ${Object.keys(MECHANISMS).join(', ')}`);
    if (mechanism === 'plain' && protocol === 'SASL_PLAINTEXT') throw new ProducerError('PRODUCE_OPTIONS', `${file}: sasl.mechanism=PLAIN over SASL_PLAINTEXT sends the password in clear text; use SASL_SSL`);
    const jaas = properties.get('sasl.jaas.config');
    const credentials = jaas !== undefined ? jaasCredentials(jaas, file) : { username: properties.get('sasl.username'), password: properties.get('sasl.password') };
    if (credentials.username === undefined || credentials.password === undefined) throw new ProducerError('PRODUCE_OPTIONS', `${file}: ${protocol} needs sasl.jaas.config, or sasl.username and sasl.password`);
    security.sasl = { mechanism, username: credentials.username, password: credentials.password };
  }
  return security;
}

/** Reads and interprets a properties file; errors name the file and the key, never a password. */
export function readClientProperties(file: string): ClientSecurity {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new ProducerError('PRODUCE_OPTIONS', `--command-config ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return clientSecurity(parseProperties(text), file);
}
