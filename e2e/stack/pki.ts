import fs from 'node:fs';
import path from 'node:path';
import { requireTool, runLogged } from './proc.js';

/**
 * A throwaway certificate authority for the local API server, as envtest makes one: a serving
 * certificate for 127.0.0.1, an admin client certificate in `system:masters`, and the
 * service-account signing key pair. ECDSA P-256 keeps generation instant. Made once per stack
 * directory and kept across restarts, so kubeconfigs handed out earlier stay valid.
 */
export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

export function pkiPaths(dir: string): Pki {
  const f = (name: string) => path.join(dir, name);
  return {
    dir,
    caCert: f('ca.crt'),
    caKey: f('ca.key'),
    servingCert: f('apiserver.crt'),
    servingKey: f('apiserver.key'),
    adminCert: f('admin.crt'),
    adminKey: f('admin.key'),
    serviceAccountKey: f('sa.key'),
    serviceAccountPub: f('sa.pub'),
  };
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function opensslIn(dir: string): (...args: string[]) => Promise<void> {
  const logFile = path.join(dir, 'openssl.log');
  return (...args: string[]) => runLogged('openssl', args, { cwd: dir, logFile });
}

/** A key pair `<name>.key` and a certificate `<name>.crt` signed by the stack CA. */
async function signCertificate(pki: Pki, name: string, subject: string, extensions: string): Promise<void> {
  const openssl = opensslIn(pki.dir);
  const csr = path.join(pki.dir, `${name}.csr`);
  const ext = path.join(pki.dir, `${name}.ext`);
  fs.writeFileSync(ext, extensions);
  await openssl('req', ...EC_KEY, '-keyout', path.join(pki.dir, `${name}.key`), '-out', csr, '-subj', subject);
  await openssl('x509', '-req', '-in', csr, '-CA', pki.caCert, '-CAkey', pki.caKey, '-CAcreateserial', '-out', path.join(pki.dir, `${name}.crt`), '-days', '3650', '-extfile', ext);
  fs.rmSync(csr);
  fs.rmSync(ext);
}

export async function ensurePki(dir: string): Promise<Pki> {
  const pki = pkiPaths(dir);
  if (fs.existsSync(pki.serviceAccountPub)) return pki;
  requireTool('openssl', 'make the local API server certificates', 'apt-get install openssl');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const openssl = opensslIn(dir);

  await openssl('req', '-x509', ...EC_KEY, '-keyout', pki.caKey, '-out', pki.caCert, '-days', '3650', '-subj', '/CN=adpipe-local-ca');

  const sign = (name: string, subject: string, extensions: string) => signCertificate(pki, name, subject, extensions);
  await sign(
    'apiserver',
    '/CN=kube-apiserver',
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' +
      'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n',
  );
  await sign('admin', '/O=system:masters/CN=adpipe-admin', 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  await openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', pki.serviceAccountKey);
  await openssl('pkey', '-in', pki.serviceAccountKey, '-pubout', '-out', pki.serviceAccountPub);
  return pki;
}

/**
 * The Kafka broker's serving certificate for its SASL_SSL listener, signed by the stack CA, and a
 * PEM key store (PKCS#8 key, then the certificate) as Kafka's `ssl.keystore.type=PEM` reads it.
 * Made once, added to a PKI made before the listener existed.
 */
export async function ensureKafkaCert(pki: Pki, host: string): Promise<{ keystore: string; caFile: string }> {
  const keystore = path.join(pki.dir, 'kafka-keystore.pem');
  if (!fs.existsSync(keystore)) {
    const ip = /^\d+\.\d+\.\d+\.\d+$/.test(host) && host !== '127.0.0.1' ? `,IP:${host}` : '';
    await signCertificate(pki, 'kafka', '/CN=adpipe-local-kafka', `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost${ip}\n`);
    const key = fs.readFileSync(path.join(pki.dir, 'kafka.key'), 'utf8');
    const cert = fs.readFileSync(path.join(pki.dir, 'kafka.crt'), 'utf8');
    fs.writeFileSync(keystore, key + cert, { mode: 0o600 });
  }
  return { keystore, caFile: pki.caCert };
}

/**
 * A serving certificate signed by the stack's CA for these DNS names (a worker's Service name, for
 * the query API's TLS in tests); returns PEM texts, with the CA's certificate as `ca.crt` has it.
 */
export async function issueServingCertificate(pki: Pki, dir: string, dnsNames: string[]): Promise<{ cert: string; key: string; ca: string }> {
  requireTool('openssl', 'sign a serving certificate with the stack CA', 'apt-get install openssl');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const logFile = path.join(dir, 'openssl.log');
  const [key, csr, ext, cert] = ['serving.key', 'serving.csr', 'serving.ext', 'serving.crt'].map((f) => path.join(dir, f)) as [string, string, string, string];
  fs.writeFileSync(ext, `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${dnsNames.map((n) => `DNS:${n}`).join(',')}\n`);
  await runLogged('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${dnsNames[0]}`], { cwd: dir, logFile });
  // -CAserial in the caller's directory: the stack's own serial file is not shared between tests.
  await runLogged('openssl', ['x509', '-req', '-in', csr, '-CA', pki.caCert, '-CAkey', pki.caKey, '-CAserial', path.join(dir, 'ca.srl'), '-CAcreateserial', '-out', cert, '-days', '30', '-extfile', ext], { cwd: dir, logFile });
  return { cert: fs.readFileSync(cert, 'utf8'), key: fs.readFileSync(key, 'utf8'), ca: fs.readFileSync(pki.caCert, 'utf8') };
}

/** An admin kubeconfig with the certificates embedded, so it works when copied elsewhere. */
export function adminKubeconfig(pki: Pki, server: string): string {
  const b64 = (file: string) => fs.readFileSync(file).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: adpipe-local',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(pki.caCert)}`,
    'users:',
    '- name: adpipe-admin',
    '  user:',
    `    client-certificate-data: ${b64(pki.adminCert)}`,
    `    client-key-data: ${b64(pki.adminKey)}`,
    'contexts:',
    '- name: adpipe-local',
    '  context:',
    '    cluster: adpipe-local',
    '    user: adpipe-admin',
    '    namespace: default',
    'current-context: adpipe-local',
    '',
  ].join('\n');
}

/**
 * HBase RPC over TLS (decision 0130): a serving certificate for the master and region server (both
 * advertise `localhost` on loopback, or the data-plane address), and a client certificate for
 * mutual TLS. HBase reads PEM key stores (X509Util's PEM loader): key and chain in one file.
 * Made apart from `ensurePki` so a stack directory made before them gains them on its next start.
 */
export interface HBaseCerts {
  /** Key and certificate in one PEM file: `hbase.rpc.tls.keystore.location`. */
  serverKeyStore: string;
  clientCert: string;
  clientKey: string;
  caCert: string;
}

export async function ensureHBaseCerts(pki: Pki, dataHost: string): Promise<HBaseCerts> {
  const f = (name: string) => path.join(pki.dir, name);
  const certs: HBaseCerts = { serverKeyStore: f('hbase-server.pem'), clientCert: f('hbase-client.crt'), clientKey: f('hbase-client.key'), caCert: pki.caCert };
  if (fs.existsSync(certs.serverKeyStore) && fs.existsSync(certs.clientKey)) return certs;
  const extra = dataHost === '127.0.0.1' ? [] : [/^[0-9.]+$/.test(dataHost) ? `IP:${dataHost}` : `DNS:${dataHost}`];
  const san = ['DNS:localhost', 'IP:127.0.0.1', ...extra].join(',');
  await signCertificate(pki, 'hbase-server', '/CN=hbase', `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=${san}\n`);
  await signCertificate(pki, 'hbase-client', '/O=adpipe/CN=adpipe-hbase-client', 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  fs.writeFileSync(certs.serverKeyStore, fs.readFileSync(f('hbase-server.key'), 'utf8') + fs.readFileSync(f('hbase-server.crt'), 'utf8'), { mode: 0o600 });
  return certs;
}
