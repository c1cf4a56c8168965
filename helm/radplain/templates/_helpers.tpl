{{/* Names ------------------------------------------------------------------------- */}}

{{- define "radplain.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* release-qualified name; the release name alone when it already contains the chart's */}}
{{- define "radplain.fullname" -}}
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

{{- define "radplain.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels ------------------------------------------------------------------------ */}}

{{- define "radplain.labels" -}}
helm.sh/chart: {{ include "radplain.chart" . }}
{{ include "radplain.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: radplain
{{- end }}

{{- define "radplain.selectorLabels" -}}
app.kubernetes.io/name: {{ include "radplain.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Image ------------------------------------------------------------------------- */}}

{{- define "radplain.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Pod spec pieces shared by the API, the worker and the release-due job ----------- */}}

{{/* the image's user (uid/gid 10001); fsGroup makes mounted Secret files group-readable */}}
{{- define "radplain.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "radplain.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
{{- end }}

{{/* settings from the ConfigMap, DATABASE_URL from the existing Secret */}}
{{- define "radplain.env" -}}
envFrom:
  - configMapRef:
      name: {{ include "radplain.fullname" . }}
env:
  - name: DATABASE_URL
    valueFrom:
      secretKeyRef:
        name: {{ .Values.database.existingSecret }}
        key: {{ .Values.database.key }}
{{- end }}

{{- define "radplain.smartKeyDir" -}}
/var/run/secrets/radplain/smart
{{- end }}

{{/* /tmp is the only writable path (the root filesystem is read-only) */}}
{{- define "radplain.volumeMounts" -}}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- if and .smart .root.Values.smart.enabled }}
  - name: smart-key
    mountPath: {{ include "radplain.smartKeyDir" .root }}
    readOnly: true
{{- end }}
{{- end }}

{{- define "radplain.volumes" -}}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: 64Mi
{{- if and .smart .root.Values.smart.enabled }}
  - name: smart-key
    secret:
      secretName: {{ .root.Values.smart.existingSecret }}
      defaultMode: 0440
      items:
        - key: {{ .root.Values.smart.key }}
          path: private-key.pem
{{- end }}
{{- end }}

{{/* restart pods when the settings change */}}
{{- define "radplain.configChecksum" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- end }}
