/**
 * Pinned versions of every server in the local stack. Changing one here changes the cache key, so
 * a bump rebuilds exactly that component and nothing else.
 */
export const VERSIONS = {
  kubernetes: 'v1.36.3',
  etcd: 'v3.6.16',
  kafka: '4.1.1',
  hbase: '2.6.4-hadoop3',
  helm: 'v3.22.0',
  /** Apicurio Registry, the stack's Confluent-compatible schema registry (e2e/stack/maven/registry). */
  registry: '2.4.2.Final',
  // Debian 12 (bookworm) package: `apt-get download` fetches exactly this version.
  prometheus: '2.42.0+ds-5+deb12u1',
  // Built from the Go module proxy: Debian's build reads its templates from /usr/share (decision 0080).
  alertmanager: 'v0.25.0',
} as const;
