{{/* The chart name, or nameOverride. */}}
{{- define "todo-app.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The full name: release name plus chart name (once), or fullnameOverride. */}}
{{- define "todo-app.fullname" -}}
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

{{/* chart-version, for the helm.sh/chart label. */}}
{{- define "todo-app.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The standard labels of every object. */}}
{{- define "todo-app.labels" -}}
helm.sh/chart: {{ include "todo-app.chart" . }}
{{ include "todo-app.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: todo-app
{{- end }}

{{/* The labels that select the release's pods. */}}
{{- define "todo-app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "todo-app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of one component: (dict "root" $ "component" "backend"). */}}
{{- define "todo-app.componentLabels" -}}
{{ include "todo-app.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Selector labels of one component: (dict "root" $ "component" "backend"). */}}
{{- define "todo-app.componentSelectorLabels" -}}
{{ include "todo-app.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The ServiceAccount the pods run as. */}}
{{- define "todo-app.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "todo-app.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding DATABASE_URL and BETTER_AUTH_SECRET. */}}
{{- define "todo-app.secretName" -}}
{{- default (printf "%s-secrets" (include "todo-app.fullname" .)) .Values.existingSecret }}
{{- end }}

{{/*
The backend pods' checksum/secret annotation: it changes when the secret values given to
the chart change, so the pods restart with them, and it tells nothing about them.
A plain hash of the values would let anyone who can read Deployments test guesses at a
database password offline, so the values are hashed after the signing key
(BETTER_AUTH_SECRET: given in values, or kept in the chart's Secret from an earlier
install; at least 32 characters), which such a reader cannot see.
- existingSecret: the chart cannot see inside it; its name is hashed.
- no key yet (the chart generates it in this very render: first install, helm template):
  only the Secret's name is hashed. A real cluster's first upgrade then finds the stored
  key and the annotation changes once.
*/}}
{{- define "todo-app.secretChecksum" -}}
{{- $name := include "todo-app.secretName" . }}
{{- if .Values.existingSecret }}
{{- list "existing" $name | toJson | sha256sum }}
{{- else }}
{{- $stored := (lookup "v1" "Secret" .Release.Namespace $name).data | default dict }}
{{- $key := .Values.secrets.betterAuthSecret | default (get $stored "BETTER_AUTH_SECRET" | b64dec) }}
{{- if $key }}
{{- printf "%s\n%s" $key (toJson (list .Values.database.url .Values.postgresql.auth)) | sha256sum }}
{{- else }}
{{- list "generated" $name | toJson | sha256sum }}
{{- end }}
{{- end }}
{{- end }}

{{/* The ConfigMap of both services. */}}
{{- define "todo-app.configMapName" -}}
{{- printf "%s-config" (include "todo-app.fullname" .) }}
{{- end }}

{{/* PostgreSQL's name (StatefulSet, Service, Secret). */}}
{{- define "todo-app.postgresqlName" -}}
{{- printf "%s-postgresql" (include "todo-app.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Which database the backend uses: external, postgresql or sqlite. */}}
{{- define "todo-app.databaseMode" -}}
{{- if .Values.database.url }}external{{ else if .Values.postgresql.enabled }}postgresql{{ else }}sqlite{{ end }}
{{- end }}

{{/* An image reference: (dict "image" .Values.backend.image "root" $). */}}
{{- define "todo-app.image" -}}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag) }}
{{- end }}

{{/*
Refuses settings that cannot work; called from the backend Deployment so that it fails at
render time with a message that says what to change.
*/}}
{{- define "todo-app.validate" -}}
{{- if eq (include "todo-app.databaseMode" .) "sqlite" }}
{{- if gt (int .Values.backend.replicaCount) 1 }}
{{- fail (printf "backend.replicaCount=%d needs an external database: the embedded SQLite database supports exactly one backend replica. Set database.url (or postgresql.enabled=true), or set backend.replicaCount=1." (int .Values.backend.replicaCount)) }}
{{- end }}
{{- if .Values.autoscaling.enabled }}
{{- fail "autoscaling.enabled=true needs an external database: the embedded SQLite database supports exactly one backend replica. Set database.url (or postgresql.enabled=true), or set autoscaling.enabled=false." }}
{{- end }}
{{- end }}
{{- if and .Values.database.url .Values.postgresql.enabled }}
{{- fail "database.url and postgresql.enabled=true are both set: choose one database (unset database.url to use the in-cluster PostgreSQL)." }}
{{- end }}
{{- end }}

{{/* The restricted pod security context shared by every pod of the chart. */}}
{{- define "todo-app.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* The restricted container security context shared by every container of the chart. */}}
{{- define "todo-app.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
Spreads a component's pods over nodes when it runs more than one replica:
(dict "root" $ "component" "backend" "replicas" 2 "affinity" .Values.backend.affinity).
*/}}
{{- define "todo-app.spread" -}}
{{- if .affinity }}
affinity:
  {{- toYaml .affinity | nindent 2 }}
{{- else if gt (int .replicas) 1 }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "todo-app.componentSelectorLabels" (dict "root" .root "component" .component) | nindent 8 }}
{{- end }}
{{- end }}
