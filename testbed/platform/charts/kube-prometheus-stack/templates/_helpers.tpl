{{/* Names as upstream's chart derives them: "monitoring" gives monitoring-kube-prometheus. */}}
{{- define "kps.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 26 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 26 | trimSuffix "-" -}}
{{- end -}}
{{- end }}

{{- define "kps.image" -}}
{{ .registry }}/{{ .repository }}:{{ .tag }}
{{- end }}

{{- define "kps.labels" -}}
{app: {{ .app }}, app.kubernetes.io/name: {{ .app }}, app.kubernetes.io/instance: {{ .root.Release.Name }}, app.kubernetes.io/part-of: kube-prometheus-stack, release: {{ .root.Release.Name }}, heritage: {{ .root.Release.Service }}}
{{- end }}

{{/* The selector of monitors and rules: `release: <name>` unless told to select everything. */}}
{{- define "kps.selector" -}}
{{- if .nilUsesHelm }}{matchLabels: {release: {{ .root.Release.Name }}}}{{ else }}{}{{ end }}
{{- end }}

{{- define "kps.containerSecurity" -}}
securityContext:
  runAsNonRoot: true
  readOnlyRootFilesystem: true
  allowPrivilegeEscalation: false
  capabilities: {drop: [ALL]}
  seccompProfile: {type: RuntimeDefault}
{{- end }}
