{{/*
Names, labels and per-service helpers. A "service" below is one of the service blocks of
values.yaml; its key (sseGateway) differs from its object and Dapr name (sse-gateway).
*/}}

{{/* The service keys in values.yaml, in a fixed order, and their object names. */}}
{{- define "todo.serviceKeys" -}}
frontend backend mcp notification sseGateway
{{- end }}

{{- define "todo.serviceName" -}}
{{- if eq . "sseGateway" }}sse-gateway{{ else }}{{ . }}{{ end }}
{{- end }}

{{/* Base name of every object: the release name unless fullnameOverride is set. */}}
{{- define "todo.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- end }}

{{/* Object name of a service: (dict "root" $ "key" "sseGateway") -> <fullname>-sse-gateway */}}
{{- define "todo.componentName" -}}
{{- printf "%s-%s" (include "todo.fullname" .root) (include "todo.serviceName" .key) }}
{{- end }}

{{- define "todo.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "todo.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "todo.labels" -}}
{{ include "todo.selectorLabels" . }}
app.kubernetes.io/part-of: hackathon-todo
app.kubernetes.io/version: {{ .Values.global.imageTag | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "todo.chart" . }}
{{- end }}

{{/* Labels of a service's objects: (dict "root" $ "key" KEY) */}}
{{- define "todo.componentSelectorLabels" -}}
{{ include "todo.selectorLabels" .root }}
app.kubernetes.io/component: {{ include "todo.serviceName" .key }}
{{- end }}

{{- define "todo.componentLabels" -}}
{{ include "todo.labels" .root }}
app.kubernetes.io/component: {{ include "todo.serviceName" .key }}
{{- end }}

{{/* Image reference: (dict "root" $ "key" KEY). The repository may use templates. */}}
{{- define "todo.image" -}}
{{- $svc := index .root.Values .key -}}
{{- $g := .root.Values.global -}}
{{- $repo := $svc.image.repository | default (printf "%s/%s/hackathon-todo/%s" $g.imageRegistry $g.imageOwner (include "todo.serviceName" .key)) -}}
{{- $tag := $svc.image.tag | default $g.imageTag -}}
{{- if not $tag }}{{ fail (printf "%s: the image tag is empty; set global.imageTag" .key) }}{{ end -}}
{{- printf "%s:%s" (tpl $repo .root) $tag }}
{{- end }}

{{/* Replicas the service runs at least: the HPA minimum when an HPA owns it. */}}
{{- define "todo.hpaOn" -}}
{{- $svc := index .root.Values .key -}}
{{- if and .root.Values.hpa.enabled $svc.hpa }}true{{ end }}
{{- end }}

{{- define "todo.minReplicas" -}}
{{- $svc := index .root.Values .key -}}
{{- if include "todo.hpaOn" . }}{{ $svc.hpa.minReplicas }}{{ else }}{{ $svc.replicas }}{{ end }}
{{- end }}

{{/* Name of the Dapr Configuration the pods use. */}}
{{- define "todo.daprConfigName" -}}
{{- .Values.dapr.configuration.name | default (include "todo.fullname" .) }}
{{- end }}

{{- define "todo.tlsSecretName" -}}
{{- .Values.ingress.tls.secretName | default (printf "%s-tls" .Values.ingress.host) }}
{{- end }}

{{- define "todo.ingressControllerNamespace" -}}
{{- if .Values.networkPolicy.ingressControllerNamespace }}{{ .Values.networkPolicy.ingressControllerNamespace }}
{{- else if eq .Values.ingress.controller "nginx" }}ingress-nginx
{{- else }}traefik{{ end }}
{{- end }}

{{/* Name of the Traefik redirect Middleware, and its reference in the annotation format. */}}
{{- define "todo.redirectMiddleware" -}}
{{- printf "%s-redirect-https" (include "todo.fullname" .) }}
{{- end }}

{{/* The Ingress rules: the host and its path prefixes. */}}
{{- define "todo.ingressRules" -}}
rules:
  - host: {{ .Values.ingress.host | quote }}
    http:
      paths:
        {{- range .Values.ingress.paths }}
        - path: {{ .path }}
          pathType: Prefix
          backend:
            service:
              name: {{ include "todo.componentName" (dict "root" $ "key" .service) }}
              port:
                name: http
        {{- end }}
{{- end }}

{{/* Topic name with the environment prefix: (dict "root" $ "topic" "taskEvents") */}}
{{- define "todo.topic" -}}
{{- printf "%s%s" .root.Values.dapr.pubsub.topicPrefix (index .root.Values.dapr.pubsub.topics .topic) }}
{{- end }}

{{/* Kafka consumer group of each service: the environment's prefix unless one is given. */}}
{{- define "todo.consumerID" -}}
{{- .Values.dapr.pubsub.consumerID | default (printf "%s-{appID}" .Values.environment) }}
{{- end }}

{{/*
Checks that JSON schema cannot express. Included by every Deployment so they run on each render.
*/}}
{{- define "todo.validate" -}}
{{- range $key := splitList " " (include "todo.serviceKeys" .) }}
{{- $svc := index $.Values $key }}
{{- if and $.Values.hpa.enabled $svc.hpa }}
{{- if gt (int $svc.hpa.minReplicas) (int $svc.hpa.maxReplicas) }}
{{- fail (printf "%s.hpa: minReplicas (%v) is greater than maxReplicas (%v)" $key $svc.hpa.minReplicas $svc.hpa.maxReplicas) }}
{{- end }}
{{- end }}
{{- end }}
{{- range $p := .Values.ingress.paths }}
{{- if not (has $p.service (splitList " " (include "todo.serviceKeys" $))) }}
{{- fail (printf "ingress.paths: %q routes to unknown service %q" $p.path $p.service) }}
{{- end }}
{{- if not (index $.Values $p.service).enabled }}
{{- fail (printf "ingress.paths: %q routes to %s, which is disabled" $p.path $p.service) }}
{{- end }}
{{- end }}
{{- if and .Values.gateway.enabled (not .Values.gateway.parentRef.name) }}
{{- fail "gateway.enabled: set gateway.parentRef.name (the Gateway the routes attach to)" }}
{{- end }}
{{- if and .Values.dapr.enabled .Values.dapr.mtls.enabled }}
{{- /* Dapr reads mTLS only from the control plane's Configuration. lookup returns nothing under
       `helm template` and when the object is absent, so the check only bites on a real cluster
       where Dapr says mTLS is off. */}}
{{- $sys := lookup "dapr.io/v1alpha1" "Configuration" .Values.dapr.controlPlaneNamespace "daprsystem" }}
{{- if and $sys (not (dig "spec" "mtls" "enabled" false $sys)) }}
{{- fail (printf "dapr.mtls.enabled is true, but the Dapr control plane has mTLS off (Configuration daprsystem in %s); enable it there or set dapr.mtls.enabled=false" .Values.dapr.controlPlaneNamespace) }}
{{- end }}
{{- end }}
{{- end }}

{{/* A Prometheus duration of one unit in words, for alert text: 5m -> "5 minutes", 1h -> "1 hour". */}}
{{- define "todo.durationWords" -}}
{{- $n := trimSuffix "s" (trimSuffix "m" (trimSuffix "h" .)) | int -}}
{{- $unit := get (dict "s" "second" "m" "minute" "h" "hour") (substr (int (sub (len .) 1)) (len .) .) -}}
{{- printf "%d %s%s" $n $unit (ternary "" "s" (eq $n 1)) -}}
{{- end }}

{{/* Seconds in a Prometheus duration of one unit ("500ms", "30s", "2m", "1h"; the schema's form). */}}
{{- define "todo.durationSeconds" -}}
{{- if hasSuffix "ms" . }}{{ divf (trimSuffix "ms" . | float64) 1000 }}
{{- else if hasSuffix "s" . }}{{ trimSuffix "s" . | float64 }}
{{- else if hasSuffix "m" . }}{{ mulf (trimSuffix "m" . | float64) 60 }}
{{- else if hasSuffix "h" . }}{{ mulf (trimSuffix "h" . | float64) 3600 }}
{{- end }}
{{- end }}
