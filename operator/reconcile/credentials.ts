import type { AdPipeline } from '../../api/v1alpha1/index.js';
import type { KubeClient, ResourceType } from '../controller/kube.js';
import { shortHash } from '../render/hash.js';
import { namespaceOf } from '../render/names.js';
import { Reason, type ComponentReport } from './conditions.js';
import { describeError } from './errors.js';

/**
 * Secrets opt in to adpipe (closing the confused deputy): anyone who may create an AdPipeline names
 * Secrets in its spec, and the operator would send their values to a broker of the spec's choosing
 * and mount them into worker Pods. It does so only for Secrets labelled
 * `adpipe.io/credentials=<use>`, which the Secret's owner sets. A Secret's labels are read as
 * metadata only, so the data of a Secret that did not opt in is never read.
 */
export const CREDENTIALS_LABEL = 'adpipe.io/credentials';

const SECRET: ResourceType = { apiVersion: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true };

export interface CredentialRef {
  name: string;
  /** The label value the Secret must carry. */
  use: 'kafka' | 'schema-registry' | 'query-tls' | 'hbase';
  /** Where the spec names it, for the message. */
  field: string;
}

/** The Secrets a pipeline's spec names, each with the use it is named for. */
export function credentialRefs(pipeline: AdPipeline): CredentialRef[] {
  const kafka = pipeline.spec.kafka;
  const refs: CredentialRef[] = [];
  if (kafka.tls?.enabled && kafka.tls.caSecretRef) refs.push({ name: kafka.tls.caSecretRef.name, use: 'kafka', field: 'spec.kafka.tls.caSecretRef' });
  if (kafka.tls?.enabled && kafka.tls.clientCertSecretRef) refs.push({ name: kafka.tls.clientCertSecretRef.name, use: 'kafka', field: 'spec.kafka.tls.clientCertSecretRef' });
  if (kafka.sasl) refs.push({ name: kafka.sasl.secretRef.name, use: 'kafka', field: 'spec.kafka.sasl.secretRef' });
  const avro = pipeline.spec.sources?.bidRequests?.avro;
  const registryAuth = avro?.schemaRegistryUrl ? avro.schemaRegistryAuth : undefined;
  if (registryAuth?.basicAuthSecretRef) refs.push({ name: registryAuth.basicAuthSecretRef.name, use: 'schema-registry', field: 'spec.sources.bidRequests.avro.schemaRegistryAuth.basicAuthSecretRef' });
  if (registryAuth?.caSecretRef) refs.push({ name: registryAuth.caSecretRef.name, use: 'schema-registry', field: 'spec.sources.bidRequests.avro.schemaRegistryAuth.caSecretRef' });
  const queryTls = pipeline.spec.query?.tls;
  if (queryTls) refs.push({ name: queryTls.secretRef.name, use: 'query-tls', field: 'spec.query.tls.secretRef' });
  const hbaseTls = pipeline.spec.hbase.tls;
  if (hbaseTls?.enabled && hbaseTls.caSecretRef) refs.push({ name: hbaseTls.caSecretRef.name, use: 'hbase', field: 'spec.hbase.tls.caSecretRef' });
  if (hbaseTls?.enabled && hbaseTls.clientCertSecretRef) refs.push({ name: hbaseTls.clientCertSecretRef.name, use: 'hbase', field: 'spec.hbase.tls.clientCertSecretRef' });
  return refs;
}

/** Whether a Secret's labels let adpipe use it for `use` (a comma-separated list of uses is allowed). */
export function optedIn(labels: Record<string, string> | undefined, use: string): boolean {
  return (labels?.[CREDENTIALS_LABEL] ?? '').split(',').map((value) => value.trim()).includes(use);
}

/**
 * Checks every Secret the spec names before anything reads one. `heldBack` is the report that holds
 * the pipeline back (a missing Secret is retried; one that did not opt in is Stalled until its owner
 * labels it, picked up at the next drift check); otherwise `version` stands for the Secrets'
 * resourceVersions, so a rotated Secret rolls the workers that mount it.
 */
export async function checkCredentials(kube: KubeClient, pipeline: AdPipeline, only?: CredentialRef['use']): Promise<{ heldBack?: ComponentReport; version: string }> {
  const namespace = namespaceOf(pipeline);
  const versions: string[] = [];
  for (const ref of credentialRefs(pipeline).filter((candidate) => !only || candidate.use === only)) {
    let secret;
    try {
      secret = await kube.findMetadata(SECRET, namespace, ref.name);
    } catch (error) {
      return { version: '', heldBack: { status: 'False', reason: Reason.SecretNotFound, message: `cannot read the labels of Secret ${namespace}/${ref.name} (${ref.field}): ${describeError(error)}`, retrying: true } };
    }
    if (!secret) return { version: '', heldBack: { status: 'False', reason: Reason.SecretNotFound, message: `Secret ${namespace}/${ref.name} (${ref.field}) does not exist`, retrying: true } };
    if (!optedIn(secret.metadata?.labels, ref.use)) {
      const heldBack: ComponentReport = {
        status: 'False',
        reason: Reason.SecretNotAllowed,
        message: `Secret ${namespace}/${ref.name} (${ref.field}) is not labelled ${CREDENTIALS_LABEL}=${ref.use}: adpipe uses only Secrets that opt in. If it is meant for this pipeline: kubectl label secret ${ref.name} -n ${namespace} ${CREDENTIALS_LABEL}=${ref.use}`,
        stalled: true,
      };
      return { version: '', heldBack };
    }
    versions.push(`${ref.name}@${secret.metadata?.resourceVersion ?? ''}`);
  }
  return { version: versions.length ? shortHash([...new Set(versions)].sort().join(',')) : '' };
}
