{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "twilio-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name used as the prefix of every object: the release name when it already
contains the chart name, else <release>-<chart>.
*/}}
{{- define "twilio-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "twilio-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that select the operator pod; never change them after a release. */}}
{{- define "twilio-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "twilio-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "twilio-operator.labels" -}}
helm.sh/chart: {{ include "twilio-operator.chart" . }}
{{ include "twilio-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: twilio-operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "twilio-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "twilio-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "twilio-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
RBAC rules, shared by the cluster-wide ClusterRole and the per-namespace Roles.
"Framework:" rules are what kopf itself needs; "Application:" rules are what the
twilio-operator handlers need (as in kopf's own examples/rbac.yaml).
*/}}
{{- define "twilio-operator.rules.namespaced" -}}
# Framework: posting the events about the handling progress of each object.
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- if .Values.peering.enabled }}
# Framework: knowing which other operators are running (kopf peering), per namespace.
- apiGroups: [kopf.dev]
  resources: [kopfpeerings]
  verbs: [get, list, watch, patch]
{{- end }}
# Application: watching and handling the custom resources, and patching their status.
- apiGroups: [voip.twilio-operator.dev]
  resources: [twilioproviders, twiliophonenumbers, twilioemergencyaddresses, livekitconnections]
  verbs: [get, list, watch, patch, update]
- apiGroups: [voip.twilio-operator.dev]
  resources: [twilioproviders/status, twiliophonenumbers/status, twilioemergencyaddresses/status, livekitconnections/status]
  verbs: [get, patch, update]
# Application: reading the customer's credentials Secret (and waking up when it
# changes) and owning the SIP credentials Secret. The operator lists and watches
# only Secrets carrying its labels, but RBAC cannot grant by label: list and watch
# stay. It never replaces a Secret (no update): it creates, patches and deletes.
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create, patch, delete]
# Application: publishing each provider's number-to-agent table. Server-side apply needs create
# and patch only: the operator never reads or lists ConfigMaps.
- apiGroups: [""]
  resources: [configmaps]
  verbs: [create, patch]
{{- end }}

{{- define "twilio-operator.rules.cluster" -}}
# Framework: runtime observation of the CRDs (added, changed, removed).
- apiGroups: [apiextensions.k8s.io]
  resources: [customresourcedefinitions]
  verbs: [get, list, watch]
# Framework: runtime observation of namespaces (kopf watches them to follow the
# namespaces it serves).
- apiGroups: [""]
  resources: [namespaces]
  verbs: [get, list, watch]
{{- end }}

{{/*
The shard label selector as TWILIO_OPERATOR_SHARD_SELECTOR expects it: key=value,key=value (sorted).
*/}}
{{- define "twilio-operator.shardSelector" -}}
{{- $pairs := list }}
{{- range $key, $value := . }}
{{- $pairs = append $pairs (printf "%s=%s" $key $value) }}
{{- end }}
{{- join "," $pairs }}
{{- end }}

{{/*
"true" when the pods elect a leader through a Lease: asked for, or implied by more than one replica.
Also refuses what cannot work together.
*/}}
{{- define "twilio-operator.leaderElection" -}}
{{- $on := or .Values.leaderElection.enabled (gt (int .Values.replicaCount) 1) }}
{{- if and $on .Values.peering.enabled }}
{{- fail "leader election (leaderElection.enabled or replicaCount > 1) replaces kopf peering: set peering.enabled=false" }}
{{- end }}
{{- with .Values.leaderElection }}
{{- if not (and (gt (float64 .leaseDuration) (float64 .renewDeadline)) (gt (float64 .renewDeadline) (mulf 1.2 .retryPeriod))) }}
{{- fail "leaderElection: leaseDuration > renewDeadline > 1.2 x retryPeriod is required" }}
{{- end }}
{{- end }}
{{- ternary "true" "false" $on }}
{{- end }}
