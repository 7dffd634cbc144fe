import path from 'node:path';
import { dataPlaneHost } from '../paths.js';
import { startDaemon, waitUntil } from '../proc.js';
import { httpGet } from './kubernetes.js';

/**
 * The schema registry: Apicurio Registry built by e2e/stack/maven/registry (decision 0090), serving
 * the Confluent Schema Registry API under /apis/ccompat/v7. Its storage is an H2 database file in
 * the stack directory, so schemas and their ids survive a restart the way a real registry's do.
 */

/** The Confluent-compatible base URL clients use (what `schemaRegistry.url` in a spec points at). */
export function registryUrl(port: number, host = dataPlaneHost(), scheme: 'http' | 'https' = 'http'): string {
  return `${scheme}://${host}:${port}/apis/ccompat/v7`;
}

/**
 * Besides plain http on `ports.http`, https on `ports.https` with the stack's loopback serving
 * certificate (signed by the stack CA), so clients' CA option is exercised for real.
 */
export interface RegistryPorts {
  http: number;
  https: number;
}

export async function startRegistry(buildDir: string, dir: string, ports: RegistryPorts, tls: { cert: string; key: string }, logFile: string): Promise<number> {
  const jvm = [
    '-Xms64m',
    '-Xmx384m',
    '-XX:+UseSerialGC',
    `-Dquarkus.http.host=${dataPlaneHost()}`,
    // The app asks for a pool of 20 connections at start; one user needs a few.
    '-Dquarkus.datasource.jdbc.initial-size=2',
    '-Dquarkus.datasource.jdbc.min-size=2',
    `-Dquarkus.http.ssl-port=${ports.https}`,
    `-Dquarkus.http.ssl.certificate.files=${tls.cert}`,
    `-Dquarkus.http.ssl.certificate.key-files=${tls.key}`,
  ];
  const pid = startDaemon('java', [...jvm, '-jar', path.join(buildDir, 'schema-registry-runner.jar')], {
    cwd: dir,
    logFile,
    env: { HTTP_PORT: String(ports.http), REGISTRY_DATASOURCE_URL: `jdbc:h2:file:${path.join(dir, 'data', 'registry')}` },
  });
  await waitUntil('schema-registry', () => registryHealthy(registryUrl(ports.http)), { deadlineMs: 180_000, pid, logFile, intervalMs: 500 });
  return pid;
}

/** Healthy when the Confluent-compatible API lists subjects (storage up, API routed). */
export async function registryHealthy(url: string): Promise<boolean> {
  const response = await httpGet(`${url}/subjects`).catch(() => undefined);
  return response?.status === 200 && response.body.trimStart().startsWith('[');
}
