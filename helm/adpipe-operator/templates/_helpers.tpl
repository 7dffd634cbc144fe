{{- define "adpipe.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "adpipe.labels" -}}
app.kubernetes.io/name: adpipe-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: adpipe
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "adpipe.selectorLabels" -}}
app.kubernetes.io/name: adpipe-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "adpipe.serviceAccountName" -}}
{{- default (include "adpipe.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/* What the operator may do to the objects of the namespaces it manages. */}}
{{- define "adpipe.managedRules" -}}
- apiGroups: [adpipe.io]
  resources: [adpipelines]
  verbs: [get, list, watch, patch, update]
- apiGroups: [adpipe.io]
  resources: [adpipelines/status]
  verbs: [get, patch, update]
- apiGroups: [adpipe.io]
  resources: [adpipelines/finalizers]
  verbs: [update]
- apiGroups: [""]
  resources: [configmaps, services, serviceaccounts]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, create, update, patch, delete]
# The workers' optional NetworkPolicy (spec.networkPolicy).
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [get, list, watch, create, update, patch, delete]
# Kafka TLS/SASL credentials named by a pipeline are read to talk to its brokers; never listed.
- apiGroups: [""]
  resources: [secrets]
  verbs: [get]
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end -}}
