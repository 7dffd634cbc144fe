import https from 'node:https';
import * as k8s from '@kubernetes/client-node';
import { API_VERSION, GROUP, PLURAL, VERSION, type AdPipeline } from '../api/v1alpha1/index.js';
import { workloadName } from '../operator/render/names.js';
import { stringOption, type CommandContext } from './command.js';
import { UsageError } from './errors.js';

/**
 * How the CLI reaches a pipeline, as kubectl would: the kubeconfig's credentials, its context's
 * namespace when --pipeline names none, and the worker's query API through the API server's
 * service proxy (`/api/v1/namespaces/NS/services/adpipe-NAME:http/proxy/…`), so the person's own
 * identity is what the API server authorizes (RBAC `get services/proxy`). `--url` talks to a worker
 * endpoint directly instead.
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

export function directQueryApi(url: string): QueryApi {
  const base = url.replace(/\/+$/, '');
  return async (pathAndQuery) => {
    const response = await fetch(`${base}${pathAndQuery}`, { signal: AbortSignal.timeout(60_000) }).catch((error: unknown) => {
      throw Object.assign(new Error(`cannot reach ${base}: ${(error as Error).message}`), { code: 'QUERY_UNREACHABLE' });
    });
    return { status: response.status, body: await response.text() };
  };
}

/** Through the API server's service proxy, authenticated as the kubeconfig's user. */
export function serviceProxyQueryApi(kc: k8s.KubeConfig, ref: PipelineRef): QueryApi {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw Object.assign(new Error('the kubeconfig has no current cluster'), { code: 'KUBECONFIG' });
  const proxy = `/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/services/${workloadName({ metadata: ref } as AdPipeline)}:http/proxy`;
  return async (pathAndQuery) => {
    const url = new URL(`${cluster.server.replace(/\/+$/, '')}${proxy}${pathAndQuery}`);
    const options: https.RequestOptions = { method: 'GET', headers: { accept: 'application/json' } };
    await kc.applyToHTTPSOptions(options);
    return new Promise<QueryReply>((resolve, reject) => {
      const request = https.request(url, { ...options, timeout: 60_000 }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      request.on('timeout', () => request.destroy(new Error('timed out after 60 s')));
      request.on('error', (error) => reject(Object.assign(new Error(`cannot reach the API server ${cluster.server}: ${error.message}`), { code: 'QUERY_UNREACHABLE' })));
      request.end();
    });
  };
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
  const hint = reply.status === 503 ? ' (no ready worker behind the Service; see kubectl get adp and the worker Pods)' : reply.status === 403 ? ' (your identity may not get services/proxy in this namespace)' : '';
  throw Object.assign(new Error(`${what}: HTTP ${reply.status}: ${message}${hint}`), { code: 'QUERY_FAILED' });
}

