import fs from 'node:fs';
import http from 'node:http';
import type https from 'node:https';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import * as k8s from '@kubernetes/client-node';
import { API_VERSION, GROUP, PLURAL, VERSION, type AdPipeline } from '../api/v1alpha1/index.js';
import { HTTP_PORT, QUERY_SCHEME_ANNOTATION, selectorLabels, workloadName } from '../operator/render/names.js';
import { stringOption, type CommandContext } from './command.js';
import { UsageError } from './errors.js';
import { forwardToPod } from './port-forward.js';

/**
 * How the CLI reaches a pipeline, as kubectl would: the kubeconfig's credentials, its context's
 * namespace when --pipeline names none, and the worker's query API through a port-forward to a
 * ready worker Pod (the API server's pods/portforward), with the person's bearer token, so the
 * worker authorizes the person (decision 0122). `--url` talks to a worker endpoint directly instead.
 */

export interface PipelineRef {
  namespace: string;
  name: string;
}

export function loadKubeConfig(ctx: CommandContext): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  const file = stringOption(ctx, 'kubeconfig') ?? ctx.io.env.KUBECONFIG;
  if (file) kc.loadFromFile(file);
  else kc.loadFromDefault();
  return kc;
}

/** `[NS/]NAME`; without NS, the kubeconfig context's namespace, else `default` (as kubectl). */
export function pipelineRef(ctx: CommandContext, kc: k8s.KubeConfig): PipelineRef {
  const ref = stringOption(ctx, 'pipeline');
  if (!ref) throw new UsageError('--pipeline [NAMESPACE/]NAME is required', ctx.path);
  const parts = ref.split('/');
  if (parts.length > 2 || parts.some((p) => !p)) throw new UsageError(`--pipeline must be [namespace/]name, got '${ref}'`, ctx.path);
  if (parts.length === 2) return { namespace: parts[0]!, name: parts[1]! };
  const context = kc.getContextObject(kc.getCurrentContext());
  return { namespace: context?.namespace || 'default', name: parts[0]! };
}

export async function readPipeline(kc: k8s.KubeConfig, ref: PipelineRef): Promise<AdPipeline> {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  try {
    return (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ref.namespace, plural: PLURAL, name: ref.name })) as AdPipeline;
  } catch (error) {
    const status = (error as { code?: number }).code;
    const why = status === 404 ? 'not found' : status === 403 ? 'forbidden for your identity' : (error as Error).message;
    throw Object.assign(new Error(`cannot read ${API_VERSION} AdPipeline ${ref.namespace}/${ref.name}: ${why}`), { code: 'PIPELINE_NOT_FOUND' });
  }
}

export interface QueryReply {
  status: number;
  body: string;
}

/** GETs a path of a pipeline's query API. */
export type QueryApi = (pathAndQuery: string) => Promise<QueryReply>;

export function directQueryApi(url: string, token?: string): QueryApi {
  const base = url.replace(/\/+$/, '');
  return async (pathAndQuery) => {
    const response = await fetch(`${base}${pathAndQuery}`, { signal: AbortSignal.timeout(60_000), headers: token ? { authorization: `Bearer ${token}` } : {} }).catch((error: unknown) => {
      throw Object.assign(new Error(`cannot reach ${base}: ${(error as Error).message}`), { code: 'QUERY_UNREACHABLE' });
    });
    return { status: response.status, body: await response.text() };
  };
}

/**
 * Through the API server to a ready worker Pod (pods/portforward, as `kubectl port-forward`), then
 * the query API's own HTTP(S) with the person's bearer token (decision 0122): the worker sees the
 * person's identity and asks the API server whether it may query this pipeline. The token is
 * `--token`, else what the kubeconfig's user sends (a token, an exec plugin's, an OIDC id-token).
 */
export function portForwardQueryApi(kc: k8s.KubeConfig, ref: PipelineRef, options: { token?: string; caFile?: string } = {}): QueryApi {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const where = `AdPipeline ${ref.namespace}/${ref.name}`;
  return async (pathAndQuery) => {
    const pods = await core.listNamespacedPod({ namespace: ref.namespace, labelSelector: Object.entries(selectorLabels({ metadata: ref } as AdPipeline)).map(([k, v]) => `${k}=${v}`).join(',') }).catch((error: unknown) => {
      const status = (error as { code?: number }).code;
      const why = status === 403 ? 'forbidden for your identity (the query Role needs list pods and create pods/portforward; docs/security.md)' : (error as Error).message;
      throw Object.assign(new Error(`cannot list the worker Pods of ${where}: ${why}`), { code: 'QUERY_UNREACHABLE' });
    });
    const ready = pods.items.filter((pod) => !pod.metadata?.deletionTimestamp && pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    const pod = ready[Math.floor(Math.random() * ready.length)];
    if (!pod) throw Object.assign(new Error(`no ready worker Pod of ${where} (see kubectl get adp and the worker Pods)`), { code: 'QUERY_UNREACHABLE' });
    const token = options.token ?? (await kubeconfigBearer(kc));
    const tls = pod.metadata?.annotations?.[QUERY_SCHEME_ANNOTATION] === 'https';
    const forward = await forwardToPod(kc, ref.namespace, pod.metadata!.name!, HTTP_PORT).catch((error: unknown) => {
      const message = (error as { message?: string }).message ?? String(error);
      const hint = /403/.test(message) ? ' (your identity needs create pods/portforward in this namespace; docs/security.md)' : '';
      throw Object.assign(new Error(`cannot port-forward to worker Pod ${ref.namespace}/${pod.metadata!.name}: ${message}${hint}`), { code: 'QUERY_UNREACHABLE' });
    });
    try {
      const socket = tls ? workerTls(forward.socket, kc, ref, options.caFile) : forward.socket;
      const reply = await new Promise<QueryReply>((resolve, reject) => {
        const request = http.request(
          { method: 'GET', path: pathAndQuery, host: `${workloadName({ metadata: ref } as AdPipeline)}.${ref.namespace}.svc`, headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, createConnection: () => socket, timeout: 60_000 },
          (response) => {
            let body = '';
            response.setEncoding('utf8');
            response.on('data', (chunk: string) => (body += chunk));
            response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
          },
        );
        request.on('timeout', () => request.destroy(new Error('timed out after 60 s')));
        request.on('error', (error) => reject(Object.assign(new Error(`the query API of ${where} did not answer through the port-forward: ${error.message}`), { code: 'QUERY_UNREACHABLE' })));
        request.end();
      });
      if (reply.status === 401 && !token) {
        throw Object.assign(
          new Error(
            `the query API of ${where} authenticates callers with a bearer token, and your kubeconfig's user has none (a client certificate cannot be passed on through the API server): use a kubeconfig with a token, or --token (e.g. kubectl create token NAME for a ServiceAccount you may use)`,
          ),
          { code: 'QUERY_NEEDS_TOKEN' },
        );
      }
      return reply;
    } finally {
      forward.close();
    }
  };
}

/** The bearer token the kubeconfig's user sends the API server, if any (client certificates have none). */
async function kubeconfigBearer(kc: k8s.KubeConfig): Promise<string | undefined> {
  const options: https.RequestOptions = { headers: {} };
  await kc.applyToHTTPSOptions(options);
  const header = (options.headers as Record<string, string | undefined>)['Authorization'] ?? (options.headers as Record<string, string | undefined>)['authorization'];
  return /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
}

/**
 * TLS to the worker inside the tunnel, verified for its Service name: with --query-ca's CA, else the
 * public roots and the cluster's CA (a certificate issued by the cluster's signer).
 */
function workerTls(socket: Duplex, kc: k8s.KubeConfig, ref: PipelineRef, caFile?: string): tls.TLSSocket {
  const cluster = kc.getCurrentCluster();
  const clusterCa = cluster?.caData ? Buffer.from(cluster.caData, 'base64').toString() : cluster?.caFile ? fs.readFileSync(cluster.caFile, 'utf8') : undefined;
  const ca = caFile ? [fs.readFileSync(caFile, 'utf8')] : [...tls.rootCertificates, ...(clusterCa ? [clusterCa] : [])];
  return tls.connect({ socket, servername: `${workloadName({ metadata: ref } as AdPipeline)}.${ref.namespace}.svc`, ca });
}

/** The reply's JSON, or an error that says who refused and why (API server or worker). */
export function replyJson<T>(reply: QueryReply, what: string): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(reply.body);
  } catch {
    parsed = undefined;
  }
  if (reply.status === 200 && parsed !== undefined) return parsed as T;
  const workerError = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
  if (workerError) throw Object.assign(new Error(`${what}: ${workerError.message ?? workerError.code}`), { code: workerError.code ?? 'QUERY_FAILED' });
  // A Kubernetes Status: the API server refused (RBAC, no endpoints, no such Service).
  const status = parsed as { kind?: string; message?: string } | undefined;
  const message = status?.kind === 'Status' ? status.message : reply.body.trim().slice(0, 300);
  const hint = reply.status === 503 ? ' (no ready worker; see kubectl get adp and the worker Pods)' : '';
  throw Object.assign(new Error(`${what}: HTTP ${reply.status}: ${message}${hint}`), { code: 'QUERY_FAILED' });
}

