import { clientSecurity, parseProperties } from './client-properties.js';

const files: Record<string, string> = { '/etc/kafka/ca.pem': 'CA PEM', '/etc/kafka/client.pem': 'CERT', '/etc/kafka/client.key': 'KEY' };
const read = (file: string) => {
  const content = files[file];
  if (content === undefined) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
  return content;
};
const security = (text: string) => clientSecurity(parseProperties(text), '/etc/kafka/client.properties', read);

test("Java's keys: SASL_SSL with SCRAM from sasl.jaas.config and a PEM trust store (relative to the file)", () => {
  const text = [
    '# the producer principal',
    'security.protocol=SASL_SSL',
    'sasl.mechanism=SCRAM-SHA-512',
    'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\',
    '    username="producer" password="p\\"w=1";',
    'ssl.truststore.type=PEM',
    'ssl.truststore.location=ca.pem',
    'client.id=ignored',
  ].join('\n');
  expect(security(text)).toEqual({ ssl: { ca: ['CA PEM'] }, sasl: { mechanism: 'scram-sha-512', username: 'producer', password: 'p"w=1' } });
});

test("librdkafka's keys: sasl.username/sasl.password, ssl.ca.location, a client certificate", () => {
  const text = 'security.protocol: SASL_SSL\nsasl.mechanisms=SCRAM-SHA-256\nsasl.username=u\nsasl.password=pw\nssl.ca.location=/etc/kafka/ca.pem\nssl.certificate.location=client.pem\nssl.key.location=client.key\n';
  expect(security(text)).toEqual({ ssl: { ca: ['CA PEM'], cert: 'CERT', key: 'KEY' }, sasl: { mechanism: 'scram-sha-256', username: 'u', password: 'pw' } });
  expect(security('security.protocol=SSL')).toEqual({ ssl: true });
  expect(security('')).toEqual({});
});

test('what cannot be honoured is refused with the key, never the password', () => {
  const refuse = (text: string, message: RegExp) => expect(() => security(text)).toThrow(message);
  refuse('security.protocol=SASL_SSL\nsasl.mechanism=GSSAPI', /sasl.mechanism=GSSAPI: use one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512/);
  refuse('security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\nssl.truststore.location=/etc/kafka/ca.pem\nsasl.username=u\nsasl.password=x', /ssl.truststore.type=JKS: only PEM/);
  refuse('security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\nssl.ca.location=nope.pem\nsasl.username=u\nsasl.password=x', /ssl.ca.location=nope.pem: cannot read it \(ENOENT\)/);
  refuse('security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.username=u\nsasl.password=x', /clear text/);
  refuse('security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512', /needs sasl.jaas.config, or sasl.username and sasl.password/);
  refuse('security.protocol=TLS', /security.protocol=TLS: use one of/);
  refuse('ssl.keystore.location=/x.jks', /ssl.keystore.location is not supported/);
  let message = '';
  try {
    security('security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\nsasl.jaas.config=com.example.Module required username="u" password="hunter2";');
  } catch (error) {
    message = (error as Error).message;
  }
  expect(message).toMatch(/sasl.jaas.config must be a PlainLoginModule or ScramLoginModule line/);
  expect(message).not.toContain('hunter2');
});
