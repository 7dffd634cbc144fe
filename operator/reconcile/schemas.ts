import type { RuntimeConfig } from '../../api/runtime-config.js';
import type { AdPipeline } from '../../api/v1alpha1/index.js';
import { BID_REQUEST_SCHEMA } from '../../runtime/decode/bid-request-schema.js';
import { RegistryError, resolveToReader, SchemaRegistryClient, valueSubject, type CompatibilityLevel, type RegistryConnection } from '../../schema-registry/index.js';
import { namespaceOf } from '../render/names.js';
import { Reason, type ComponentReport } from './conditions.js';
import { describeError, OperatorError } from './errors.js';
import type { KubeClient } from '../controller/kube.js';
import { secretValue } from './topics.js';

/**
 * The schema check that runs before the workers see a change (docs/schema-evolution.md): the
 * spec's `writerSchema`, and with a registry every version registered under the pipeline's
 * subject, must resolve to the contract's reader schema; the subject's compatibility level is set
 * from the spec. A failure holds the worker config back: `SchemaIncompatible` (Stalled, a person
 * must act) or `SchemaRegistryUnavailable` (retried with backoff).
 */

export type SchemaCheck = { ok: true; note?: string } | { ok: false; report: ComponentReport };

export async function checkSchemas(kube: KubeClient, pipeline: AdPipeline, config: RuntimeConfig): Promise<SchemaCheck> {
  const avro = pipeline.spec.sources?.bidRequests?.avro;
  if (avro?.writerSchema) {
    const resolution = resolveToReader(avro.writerSchema, BID_REQUEST_SCHEMA);
    if (!resolution.ok) return incompatible(`spec.sources.bidRequests.avro.writerSchema cannot be read as the contract's bid request: ${resolution.message}`);
  }
  if (!avro?.schemaRegistryUrl) return { ok: true };
  const subject = avro.subject ?? valueSubject(config.sources.bidRequests.topic);
  const level = (avro.compatibility ?? 'BACKWARD') as CompatibilityLevel;
  try {
    const client = new SchemaRegistryClient(await registryConnection(kube, pipeline, avro.schemaRegistryUrl));
    let note: string | undefined;
    if ((await client.compatibility(subject)) !== level) {
      await client.setCompatibility(subject, level);
      note = `set compatibility ${level} on subject ${subject}`;
    }
    for (const version of await client.versions(subject)) {
      const registered = await client.version(subject, version);
      const resolution = resolveToReader(registered.schema, BID_REQUEST_SCHEMA);
      if (!resolution.ok) return incompatible(`subject ${subject} version ${version} (schema id ${registered.id}) cannot be read as the contract's bid request: ${resolution.message}`);
    }
    return note ? { ok: true, note } : { ok: true };
  } catch (error) {
    if (error instanceof OperatorError && error.code === 'SECRET_NOT_FOUND') return { ok: false, report: { status: 'False', reason: Reason.SecretNotFound, message: error.message, retrying: true } };
    const unavailable = error instanceof RegistryError && error.unavailable;
    const message = `schema registry ${avro.schemaRegistryUrl} ${unavailable ? 'is unreachable' : 'refused a request'} (subject ${subject}): ${describeError(error)}; the workers keep their current config until the check passes`;
    // Unreachable is not a failure of the pipeline: Unknown, retried with backoff.
    return { ok: false, report: { status: unavailable ? 'Unknown' : 'False', reason: Reason.SchemaRegistryUnavailable, message, retrying: true } };
  }
}

function incompatible(message: string): SchemaCheck {
  return { ok: false, report: { status: 'False', reason: Reason.SchemaIncompatible, message: `${message}. The workers keep their last accepted config; fix the schema or revert the change`, stalled: true } };
}

async function registryConnection(kube: KubeClient, pipeline: AdPipeline, url: string): Promise<RegistryConnection> {
  const auth = pipeline.spec.sources?.bidRequests?.avro?.schemaRegistryAuth;
  const namespace = namespaceOf(pipeline);
  const connection: RegistryConnection = { url, timeoutMs: 5000 };
  if (auth?.basicAuthSecretRef) {
    const ref = auth.basicAuthSecretRef;
    connection.basicAuth = { username: await secretValue(kube, namespace, ref.name, ref.usernameKey ?? 'username'), password: await secretValue(kube, namespace, ref.name, ref.passwordKey ?? 'password') };
  }
  if (auth?.caSecretRef) connection.ca = await secretValue(kube, namespace, auth.caSecretRef.name, auth.caSecretRef.key ?? 'ca.crt');
  return connection;
}
