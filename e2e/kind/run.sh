#!/usr/bin/env bash
# The e2e scenarios on a kind cluster (a machine with Docker, kind, helm and kubectl).
# Same test code as the local path (e2e/scenarios), switched by ADPIPE_E2E_TARGET=kind: the operator
# comes from the Helm chart, worker Pods run on kind's kubelets from the image built here, and Kafka
# and HBase are the local stack's servers listening on the Docker bridge so Pods reach them.
set -euo pipefail
cd "$(dirname "$0")/../.."

cluster=${KIND_CLUSTER:-adpipe-e2e}
image=adpipe:0.1.0
# The host's address on kind's Docker network: Pods reach the host (Kafka, HBase) through it.
bridge_ip=$(docker network inspect kind -f '{{range .IPAM.Config}}{{.Gateway}} {{end}}' 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9.]+$' | head -1 || true)

echo "== kind cluster $cluster"
kind get clusters | grep -qx "$cluster" || kind create cluster --name "$cluster" --wait 120s
[ -n "$bridge_ip" ] || bridge_ip=$(docker network inspect kind -f '{{range .IPAM.Config}}{{.Gateway}} {{end}}' | tr ' ' '\n' | grep -E '^[0-9.]+$' | head -1)
kubeconfig=$(mktemp)
kind get kubeconfig --name "$cluster" > "$kubeconfig"

echo "== image $image"
docker build -t "$image" .
kind load docker-image "$image" --name "$cluster"

echo "== Kafka and HBase for testing, on the Docker bridge ($bridge_ip)"
npm ci
npm run stack -- down || true
ADPIPE_STACK_DATA_HOST="$bridge_ip" npm run stack -- up

echo "== CRD and operator from the Helm chart"
kubectl --kubeconfig "$kubeconfig" apply --server-side -f crds/adpipelines.adpipe.io.yaml
helm upgrade --install adpipe helm/adpipe-operator --kubeconfig "$kubeconfig" \
  --namespace adpipe-system --create-namespace --set image.tag=0.1.0 --wait --timeout 5m

echo "== scenarios"
# data-health.test.ts needs the local stack's Prometheus to reach the worker Pods: local only.
ADPIPE_E2E_TARGET=kind KUBECONFIG="$kubeconfig" ADPIPE_STACK_DATA_HOST="$bridge_ip" \
  npm run jest -- e2e/scenarios/pipeline.test.ts
