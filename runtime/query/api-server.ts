import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { parse } from 'yaml';

/**
 * How the worker reaches the API server as itself, for its two reviews (kube-reviewer.ts): a
 * kubeconfig (explicit, else KUBECONFIG) or, in a Pod, the mounted ServiceAccount token. Only what a
 * worker's identity uses is read: a bearer token (inline or a file) or a client certificate, and the
 * cluster's CA. Why not @kubernetes/client-node: for two POSTs it costs the worker about 73 MiB of
 * resident memory in its query thread (decision 0077).
 */
export interface ApiServerAccess {
  server: URL;
  ca?: string;
  insecureSkipTlsVerify?: boolean;
  cert?: string;
  key?: string;
  /** The bearer token now: a mounted one is rotated by the kubelet, so it is read again when older than a minute. */
  token?: () => string;
}

const IN_CLUSTER = '/var/run/secrets/kubernetes.io/serviceaccount';

interface Kubeconfig {
  'current-context'?: string;
  contexts?: Array<{ name: string; context: { cluster: string; user: string } }>;
  clusters?: Array<{ name: string; cluster: { server: string; 'certificate-authority-data'?: string; 'certificate-authority'?: string; 'insecure-skip-tls-verify'?: boolean } }>;
  users?: Array<{ name: string; user: { token?: string; tokenFile?: string; 'client-certificate-data'?: string; 'client-key-data'?: string; 'client-certificate'?: string; 'client-key'?: string; exec?: unknown; 'auth-provider'?: unknown } }>;
}

/** A token file read again when older than a minute (the kubelet rotates projected tokens). */
function tokenFile(file: string): () => string {
  let token = '';
  let readAt = -Infinity;
  return () => {
    if (Date.now() - readAt > 60_000) {
      token = fs.readFileSync(file, 'utf8').trim();
      readAt = Date.now();
    }
    return token;
  };
}

/** The access a kubeconfig's current context gives. Pure but for reading the files it names. */
export function accessFromKubeconfig(file: string): ApiServerAccess {
  const config = parse(fs.readFileSync(file, 'utf8')) as Kubeconfig;
  const relative = (name: string) => path.resolve(path.dirname(file), name);
  const contextName = config['current-context'];
  const context = config.contexts?.find((c) => c.name === contextName)?.context;
  if (!context) throw new Error(`kubeconfig ${file}: no current context`);
  const cluster = config.clusters?.find((c) => c.name === context.cluster)?.cluster;
  const user = config.users?.find((u) => u.name === context.user)?.user;
  if (!cluster?.server) throw new Error(`kubeconfig ${file}: context ${contextName} names no cluster with a server`);
  if (!user) throw new Error(`kubeconfig ${file}: context ${contextName} names no user`);
  const access: ApiServerAccess = { server: new URL(cluster.server) };
  if (cluster['certificate-authority-data']) access.ca = Buffer.from(cluster['certificate-authority-data'], 'base64').toString('utf8');
  else if (cluster['certificate-authority']) access.ca = fs.readFileSync(relative(cluster['certificate-authority']), 'utf8');
  if (cluster['insecure-skip-tls-verify']) access.insecureSkipTlsVerify = true;
  if (user.token) {
    const token = user.token;
    access.token = () => token;
  } else if (user.tokenFile) access.token = tokenFile(relative(user.tokenFile));
  if (user['client-certificate-data']) access.cert = Buffer.from(user['client-certificate-data'], 'base64').toString('utf8');
  else if (user['client-certificate']) access.cert = fs.readFileSync(relative(user['client-certificate']), 'utf8');
  if (user['client-key-data']) access.key = Buffer.from(user['client-key-data'], 'base64').toString('utf8');
  else if (user['client-key']) access.key = fs.readFileSync(relative(user['client-key']), 'utf8');
  if (!access.token && !access.cert) {
    throw new Error(`kubeconfig ${file}: user ${context.user} has neither a token nor a client certificate${user.exec || user['auth-provider'] ? ' (exec and auth-provider plugins are not supported by the worker)' : ''}`);
  }
  return access;
}

/** The worker's access: the given kubeconfig, else KUBECONFIG, else the Pod's ServiceAccount. */
export function apiServerAccess(kubeconfig?: string, env: NodeJS.ProcessEnv = process.env, inCluster = IN_CLUSTER): ApiServerAccess {
  const file = kubeconfig ?? env['KUBECONFIG']?.split(path.delimiter).find(Boolean);
  if (file) return accessFromKubeconfig(file);
  const host = env['KUBERNETES_SERVICE_HOST'];
  if (!host) throw new Error('no kubeconfig and not in a Pod (KUBERNETES_SERVICE_HOST is unset): the query API cannot review callers');
  const port = env['KUBERNETES_SERVICE_PORT'] ?? '443';
  return { server: new URL(`https://${host.includes(':') ? `[${host}]` : host}:${port}`), ca: fs.readFileSync(path.join(inCluster, 'ca.crt'), 'utf8'), token: tokenFile(path.join(inCluster, 'token')) };
}

/** The API server's refusal or failure of a request, with its HTTP status (0: no answer). */
export class ApiServerError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
    this.name = 'ApiServerError';
  }
}

/** POSTs one object and returns the API server's answer (a review with its status). */
export function createObject<T>(access: ApiServerAccess, apiPath: string, body: unknown, timeoutMs = 10_000): Promise<T> {
  const payload = Buffer.from(JSON.stringify(body));
  const url = new URL(apiPath, access.server);
  const headers: Record<string, string | number> = { 'content-type': 'application/json', accept: 'application/json', 'content-length': payload.length };
  const token = access.token?.();
  if (token) headers['authorization'] = `Bearer ${token}`;
  return new Promise<T>((resolve, reject) => {
    const request = https.request(
      url,
      { method: 'POST', headers, ca: access.ca, cert: access.cert, key: access.key, rejectUnauthorized: !access.insecureSkipTlsVerify, timeout: timeoutMs },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = response.statusCode ?? 0;
          if (status < 200 || status >= 300) {
            // The API server's Status message says what was refused; it never echoes the token.
            const message = (() => {
              try {
                return (JSON.parse(text) as { message?: string }).message ?? text.slice(0, 200);
              } catch {
                return text.slice(0, 200);
              }
            })();
            reject(new ApiServerError(`${url.pathname}: ${message}`, status));
            return;
          }
          try {
            resolve(JSON.parse(text) as T);
          } catch {
            reject(new ApiServerError(`${url.pathname} answered something other than JSON`, status));
          }
        });
        response.on('error', (error) => reject(new ApiServerError(`${url.pathname}: ${error.message}`, 0)));
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    request.on('error', (error) => reject(error instanceof ApiServerError ? error : new ApiServerError(`${url.pathname}: ${error.message}`, 0)));
    request.end(payload);
  });
}
