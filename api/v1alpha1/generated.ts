// GENERATED from crds/source/adpipeline.v1alpha1.yaml by `npm run gen:api`. Do not edit.
// Fields with a schema default are optional here: the API server fills them in before anyone reads them.

/**
 * The desired pipeline. The operator never writes to spec.
 */
export interface AdPipelineSpec {
  /**
   * The Kafka cluster that carries the source, dead-letter and internal topics.
   */
  kafka: {
    /**
     * Broker addresses as host:port.
     *
     * @minItems 1
     * @maxItems 32
     */
    bootstrapServers: string[];
    /**
     * TLS to the brokers. Certificates come from Secrets in the pipeline's namespace.
     */
    tls?: {
      enabled?: boolean;
      caSecretRef?: {
        name: string;
        key?: string;
      };
      /**
       * A kubernetes.io/tls Secret (tls.crt, tls.key) for mutual TLS.
       */
      clientCertSecretRef?: {
        name: string;
      };
    };
    /**
     * SASL authentication; the credentials stay in the Secret and never appear in status, events or logs.
     */
    sasl?: {
      mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
      secretRef: {
        name: string;
        usernameKey?: string;
        passwordKey?: string;
      };
    };
  };
  /**
   * The HBase cluster that stores aggregates and correlation state.
   */
  hbase: {
    /**
     * ZooKeeper servers as host:port[,host:port...].
     */
    zookeeperQuorum: string;
    znodeParent?: string;
    /**
     * TLS to HBase's RPC ports (HBase 2.6+ with hbase.server.netty.tls.enabled), used by the operator's table admin and by the workers. Certificates come from Secrets in the pipeline's namespace labelled adpipe.io/credentials=hbase. ZooKeeper is still read in plaintext (it holds locations, not data).
     */
    tls?: {
      enabled?: boolean;
      caSecretRef?: {
        name: string;
        key?: string;
      };
      /**
       * A kubernetes.io/tls Secret (tls.crt, tls.key) for mutual TLS (hbase.server.netty.tls.client.auth.mode NEED).
       */
      clientCertSecretRef?: {
        name: string;
      };
    };
  };
  /**
   * The four event sources. Each one omitted takes its defaults.
   */
  sources?: {
    /**
     * Bid requests, one Avro record per message (contract bid-request.avsc).
     */
    bidRequests?: {
      /**
       * Unset means adpipe.<namespace>.<name>.bid-requests (computed by the operator, never written here; shown in status.topicNames).
       */
      topic?: string;
      /**
       * Partitions of the topic. Can be raised, never lowered.
       */
      partitions?: number;
      /**
       * Replicas of each partition. Fixed at creation.
       */
      replicationFactor?: number;
      avro?: {
        /**
         * The Avro schema (JSON) the producers write plain binary records with, when it differs from the contract's; records are resolved from it to the contract schema.
         */
        writerSchema?: string;
        /**
         * Messages use Confluent framing; writer schemas are fetched from this registry (its Confluent-compatible API) by id. The operator checks that every version of the subject resolves to the contract schema before the workers see a change.
         */
        schemaRegistryUrl?: string;
        /**
         * The registry subject the producers register bid-request schemas under (default <topic>-value).
         */
        subject?: string;
        /**
         * The compatibility level the operator sets on the subject, so the registry refuses an incompatible new version.
         */
        compatibility?:
          'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FORWARD_TRANSITIVE' | 'FULL' | 'FULL_TRANSITIVE' | 'NONE';
        /**
         * Credentials and trust for the registry; the values stay in Secrets and never appear in status, events or logs.
         */
        schemaRegistryAuth?: {
          /**
           * A Secret with the registry user's name and password (HTTP basic auth).
           */
          basicAuthSecretRef?: {
            name: string;
            usernameKey?: string;
            passwordKey?: string;
          };
          /**
           * The CA that signed an https registry's certificate (default the system's).
           */
          caSecretRef?: {
            name: string;
            key?: string;
          };
        };
      };
    };
    /**
     * Impressions, JSON objects or arrays of objects.
     */
    impressions?: {
      /**
       * Unset means adpipe.<namespace>.<name>.ad-impressions (computed by the operator, never written here; shown in status.topicNames).
       */
      topic?: string;
      /**
       * Partitions of the topic. Can be raised, never lowered.
       */
      partitions?: number;
      /**
       * Replicas of each partition. Fixed at creation.
       */
      replicationFactor?: number;
      /**
       * Source field (JSON) or column (CSV) name to canonical name, e.g. {impId: impression_id}.
       */
      fieldMapping?: {
        [k: string]:
          | 'request_id'
          | 'impression_id'
          | 'campaign_id'
          | 'creative_id'
          | 'user_id'
          | 'ts'
          | 'price_micros'
          | 'click_id'
          | 'conversion_id'
          | 'type'
          | 'value_micros';
      };
    };
    /**
     * Clicks, CSV lines.
     */
    clicks?: {
      /**
       * Unset means adpipe.<namespace>.<name>.ad-clicks (computed by the operator, never written here; shown in status.topicNames).
       */
      topic?: string;
      /**
       * Partitions of the topic. Can be raised, never lowered.
       */
      partitions?: number;
      /**
       * Replicas of each partition. Fixed at creation.
       */
      replicationFactor?: number;
      csv?: {
        /**
         * Every message starts with a header line naming its columns.
         */
        header?: boolean;
        delimiter?: string;
        /**
         * Column names in message order, when they differ from the canonical order; map them with fieldMapping.
         *
         * @maxItems 64
         */
        columns?: string[];
      };
      /**
       * Source field (JSON) or column (CSV) name to canonical name, e.g. {impId: impression_id}.
       */
      fieldMapping?: {
        [k: string]:
          | 'request_id'
          | 'impression_id'
          | 'campaign_id'
          | 'creative_id'
          | 'user_id'
          | 'ts'
          | 'price_micros'
          | 'click_id'
          | 'conversion_id'
          | 'type'
          | 'value_micros';
      };
    };
    /**
     * Conversions, CSV lines.
     */
    conversions?: {
      /**
       * Unset means adpipe.<namespace>.<name>.ad-conversions (computed by the operator, never written here; shown in status.topicNames).
       */
      topic?: string;
      /**
       * Partitions of the topic. Can be raised, never lowered.
       */
      partitions?: number;
      /**
       * Replicas of each partition. Fixed at creation.
       */
      replicationFactor?: number;
      csv?: {
        /**
         * Every message starts with a header line naming its columns.
         */
        header?: boolean;
        delimiter?: string;
        /**
         * Column names in message order, when they differ from the canonical order; map them with fieldMapping.
         *
         * @maxItems 64
         */
        columns?: string[];
      };
      /**
       * Source field (JSON) or column (CSV) name to canonical name, e.g. {impId: impression_id}.
       */
      fieldMapping?: {
        [k: string]:
          | 'request_id'
          | 'impression_id'
          | 'campaign_id'
          | 'creative_id'
          | 'user_id'
          | 'ts'
          | 'price_micros'
          | 'click_id'
          | 'conversion_id'
          | 'type'
          | 'value_micros';
      };
    };
  };
  /**
   * How clicks are attributed to impressions and conversions to clicks.
   */
  correlation?: {
    /**
     * A click counts when 0 <= click.ts - impression.ts <= this.
     */
    attributionWindow?: string;
    /**
     * A conversion counts when 0 <= conversion.ts - click.ts <= this.
     */
    conversionWindow?: string;
    /**
     * How long an event waits for its partner; unset means the attribution window.
     */
    lateness?: string;
  };
  /**
   * How long data is kept.
   */
  retention?: {
    /**
     * retention.ms of the source topics.
     */
    rawEvents?: string;
    /**
     * retention.ms of the dead-letter topic.
     */
    deadLetter?: string;
    /**
     * TTL of stored campaign performance in HBase.
     */
    aggregates?: string;
  };
  /**
   * The HBase table that holds this pipeline's aggregates and correlation state.
   */
  storage?: {
    /**
     * Table name (namespace:name or name). Unset means adpipe_<namespace>_<name>. Cannot be changed later.
     */
    table?: string;
    /**
     * Regions the table starts with (row keys are salted over this many buckets).
     */
    preSplitRegions?: number;
    compression?: 'NONE' | 'GZ' | 'SNAPPY' | 'LZ4' | 'ZSTD';
    bloomFilter?: 'NONE' | 'ROW' | 'ROWCOL';
    /**
     * Transparent encryption at rest of the table's HFiles (ENCRYPTION => 'AES' on every family). The key is the HBase cluster's master key, held by HBase's key provider (hbase.crypto.keyprovider) and never by adpipe; an HBase without one refuses the table (StorageReady=False). WAL encryption is the cluster's setting hbase.regionserver.wal.encryption. See docs/security.md.
     */
    encryption?: 'NONE' | 'AES';
  };
  /**
   * The runtime Deployment.
   */
  workers?: {
    image?: string;
    replicas?: number;
    /**
     * Most records a worker processes in one batch.
     */
    batchSize?: number;
    resources?: {
      requests?: {
        cpu?: number | string;
        memory?: number | string;
      };
      limits?: {
        cpu?: number | string;
        memory?: number | string;
      };
    };
    /**
     * The workers' log level.
     */
    logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error';
    /**
     * Topic-partitions a worker processes at once.
     */
    partitionConcurrency?: number;
    /**
     * How often each task commits its Kafka transaction and writes its changed partial sums to HBase (the most a query lags behind processing).
     */
    commitInterval?: string;
    /**
     * How often each task snapshots its state to HBase (a restart replays the internal topic from the last snapshot).
     */
    snapshotInterval?: string;
    /**
     * Failures of one record, the same non-retriable way, before it goes to the dead letters as processing.failed.
     */
    poisonAttempts?: number;
    /**
     * A task that fails without progress for longer than this makes its worker unready and counts in adpipe_tasks_stalled.
     */
    stallThreshold?: string;
  };
  /**
   * Who may read the workers' query API and how it is served (docs/security.md).
   */
  query?: {
    /**
     * kubernetes: callers send a bearer token of their Kubernetes identity; the workers ask the API server who it is (TokenReview) and whether it may get adpipelines/query of this pipeline (SubjectAccessReview), so a Role and RoleBinding grant access. none: anyone who reaches the workers' port may query.
     */
    auth?: 'kubernetes' | 'none';
    /**
     * How long a worker reuses the API server's answer for the same token (a revoked RoleBinding takes effect after at most this).
     */
    reviewCacheTime?: string;
    /**
     * Serve the query API over HTTPS only, with the certificate of a kubernetes.io/tls Secret (tls.crt, tls.key) labelled adpipe.io/credentials=query-tls.
     */
    tls?: {
      secretRef: {
        name: string;
      };
    };
  };
  /**
   * A NetworkPolicy for the worker Pods (docs/security.md); needs a network plugin that enforces NetworkPolicies.
   */
  networkPolicy?: {
    /**
     * Render a NetworkPolicy that admits ingress to the workers only on the query/metrics port, from the peers in `from`.
     */
    enabled?: boolean;
    /**
     * Who may reach the query/metrics port (NetworkPolicy peers); empty admits any source, still only on that port.
     *
     * @maxItems 32
     */
    from?: {
      namespaceSelector?: {
        matchLabels?: {
          [k: string]: string;
        };
      };
      podSelector?: {
        matchLabels?: {
          [k: string]: string;
        };
      };
    }[];
  };
  /**
   * Where invalid records go, with their reason in headers.
   */
  deadLetter?: {
    /**
     * Unset means adpipe.<namespace>.<name>-dlq.
     */
    topic?: string;
    /**
     * Partitions of the topic. Can be raised, never lowered.
     */
    partitions?: number;
    /**
     * Replicas of each partition. Fixed at creation.
     */
    replicationFactor?: number;
  };
  /**
   * What deleting the AdPipeline does to its Kafka topics and HBase table.
   */
  deletionPolicy?: 'Retain' | 'Delete';
  /**
   * Data-health sensors (docs/monitoring.md): the thresholds by which the operator judges the DataHealthy condition and the alert rules fire. The operator reads the workers' metrics from Prometheus and exports these thresholds as adpipe_pipeline_monitoring_* metrics.
   */
  monitoring?: {
    /**
     * Records the workers may be behind the brokers (all source and internal partitions together) before the pipeline is Lagging.
     */
    maxLag?: number;
    /**
     * How long records may keep arriving without any reaching HBase before the pipeline is Stale.
     */
    maxStaleness?: string;
    /**
     * Percent of a source's records that may be invalid (dead-lettered) over the window before InvalidRecordsSpike.
     */
    maxInvalidPercent?: number;
    /**
     * How far traffic may move from the pipeline's own baseline before TrafficDrop or TrafficSpike. Low - below 5% or above 20x of it; Medium - below 25% or above 5x; High - below 50% or above 3x; Off - never.
     */
    anomalySensitivity?: 'Off' | 'Low' | 'Medium' | 'High';
    /**
     * The window current traffic and invalid ratio are measured over.
     */
    window?: string;
    /**
     * The recent history a source's traffic is compared with (its median rate), besides the same hour on previous days when Prometheus holds them. No verdict on traffic until this much history exists.
     */
    baselineWindow?: string;
  };
}

/**
 * Written by the operator only.
 */
export interface AdPipelineStatus {
  observedGeneration?: number;
  conditions?: {
    type: string;
    status: 'True' | 'False' | 'Unknown';
    observedGeneration?: number;
    lastTransitionTime: string;
    reason: string;
    message: string;
  }[];
  /**
   * What adpipe created for this pipeline or adopted with consent (annotation adpipe.io/adopt). Only these are changed, and deleted under deletionPolicy Delete; a topic or table that existed before is left alone.
   */
  owned?: {
    topics?: string[];
    table?: string;
  };
  /**
   * The topic of each source and of the dead letters, as the operator resolved them (defaults derive from the pipeline's namespace and name).
   */
  topicNames?: {
    bidRequests?: string;
    impressions?: string;
    clicks?: string;
    conversions?: string;
    deadLetter?: string;
  };
  /**
   * The Kafka topics this pipeline owns.
   */
  topics?: string[];
  /**
   * Ready topics over desired topics, e.g. 5/5.
   */
  topicsSummary?: string;
  /**
   * The HBase table this pipeline owns.
   */
  table?: string;
  workers?: {
    replicas?: number;
    readyReplicas?: number;
    /**
     * Ready over desired, e.g. 2/2.
     */
    summary?: string;
    configHash?: string;
  };
}
