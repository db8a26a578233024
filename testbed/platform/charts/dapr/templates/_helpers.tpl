{{/* Upstream tags Dapr's images without the "v" of the module version. */}}
{{- define "dapr.tag" -}}
{{- .Values.global.tag | default (trimPrefix "v" .Chart.AppVersion) }}
{{- end }}

{{- define "dapr.image" -}}
{{ .root.Values.global.registry }}/{{ .name }}:{{ include "dapr.tag" .root }}
{{- end }}

{{- define "dapr.sentryAddress" -}}
dapr-sentry.{{ .Release.Namespace }}.svc.{{ .Values.global.clusterDomain }}:443
{{- end }}

{{/* Metrics and health flags every control-plane service takes. */}}
{{- define "dapr.commonArgs" -}}
- --log-level={{ .Values.global.logLevel }}
- --healthz-port=8080
{{- if .Values.global.prometheus.enabled }}
- --enable-metrics
- --metrics-port={{ .Values.global.prometheus.port }}
{{- else }}
- --enable-metrics=false
{{- end }}
{{- end }}

{{/* Flags of the services that get their identity from sentry and trust its anchors. */}}
{{- define "dapr.identityArgs" -}}
- --trust-domain={{ .Values.global.mtls.controlPlaneTrustDomain }}
- --trust-anchors-file=/var/run/secrets/dapr.io/tls/ca.crt
- --sentry-address={{ include "dapr.sentryAddress" . }}
{{- end }}

{{- define "dapr.healthProbes" -}}
livenessProbe:
  httpGet: {path: /healthz, port: 8080}
  initialDelaySeconds: 180
  periodSeconds: 10
  failureThreshold: 5
readinessProbe:
  httpGet: {path: /healthz, port: 8080}
  initialDelaySeconds: 1
  periodSeconds: 1
  failureThreshold: 3
{{- end }}

{{- define "dapr.containerSecurity" -}}
securityContext:
  runAsNonRoot: true
  readOnlyRootFilesystem: true
  allowPrivilegeEscalation: false
  capabilities: {drop: [ALL]}
  seccompProfile: {type: RuntimeDefault}
{{- end }}

{{/* The trust anchors (sentry fills the ConfigMap) and a pod token sentry accepts. */}}
{{- define "dapr.identityMounts" -}}
- {name: dapr-trust-bundle, mountPath: /var/run/secrets/dapr.io/tls, readOnly: true}
- {name: dapr-identity-token, mountPath: /var/run/secrets/dapr.io/sentrytoken, readOnly: true}
{{- end }}

{{- define "dapr.identityVolumes" -}}
- name: dapr-trust-bundle
  configMap: {name: dapr-trust-bundle}
- name: dapr-identity-token
  projected:
    sources:
      - serviceAccountToken:
          path: token
          expirationSeconds: 600
          audience: spiffe://{{ .Values.global.mtls.controlPlaneTrustDomain }}/ns/{{ .Release.Namespace }}/dapr-sentry
{{- end }}

{{- define "dapr.labels" -}}
{app: {{ .name }}, app.kubernetes.io/name: {{ .root.Chart.Name }}, app.kubernetes.io/instance: {{ .root.Release.Name }}, app.kubernetes.io/component: {{ .component }}, app.kubernetes.io/part-of: dapr}
{{- end }}
