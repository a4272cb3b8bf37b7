{{- define "certcast.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "certcast.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "certcast.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* "true" when the replicas elect a leader: leaderElection.enabled, or replicaCount > 1 when null. */}}
{{- define "certcast.leaderElect" -}}
{{- $e := (.Values.leaderElection | default dict).enabled -}}
{{- if kindIs "invalid" $e -}}
{{- if gt (int .Values.replicaCount) 1 }}true{{ else }}false{{ end -}}
{{- else if eq (toString $e) "true" -}}
true
{{- else if eq (toString $e) "false" -}}
false
{{- else -}}
{{- fail "leaderElection.enabled must be true, false or null" -}}
{{- end -}}
{{- end -}}

{{- define "certcast.leaseName" -}}
{{- (.Values.leaderElection | default dict).leaseName | default (printf "%s-leader" (include "certcast.fullname" .) | trunc 253) -}}
{{- end -}}

{{/* The TLS Secret's name: tls.secretName, else "<fullname>-tls". */}}
{{- define "certcast.tlsSecretName" -}}
{{- $dflt := printf "%s-tls" (include "certcast.fullname" .) | trunc 253 -}}
{{- .Values.tls.secretName | default $dflt -}}
{{- end -}}

{{/* The endpoint's port name and scheme: "https" with TLS, else "http" as before. */}}
{{- define "certcast.portName" -}}
{{- if .Values.tls.enabled }}https{{ else }}http{{ end -}}
{{- end -}}

{{- define "certcast.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "certcast.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* "true" when the chart renders a PodDisruptionBudget: podDisruptionBudget.enabled, or
replicaCount > 1 when null (with one replica, minAvailable 1 would block every drain). */}}
{{- define "certcast.pdbEnabled" -}}
{{- $e := (.Values.podDisruptionBudget | default dict).enabled -}}
{{- if kindIs "invalid" $e -}}
{{- if gt (int .Values.replicaCount) 1 }}true{{ else }}false{{ end -}}
{{- else if eq (toString $e) "true" -}}
true
{{- else if eq (toString $e) "false" -}}
false
{{- else -}}
{{- fail "podDisruptionBudget.enabled must be true, false or null" -}}
{{- end -}}
{{- end -}}
