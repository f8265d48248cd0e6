{{/* Labels every object carries (the Kustomize base's part-of, plus Helm's own). */}}
{{- define "chaos-agent.labels" -}}
app.kubernetes.io/part-of: chaos-agent
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* The agent's ServiceAccount as an RBAC subject. */}}
{{- define "chaos-agent.subject" -}}
- kind: ServiceAccount
  name: chaos-agent
  namespace: {{ .Release.Namespace }}
{{- end -}}

{{- define "chaos-agent.image" -}}
{{- $ref := printf "%s:%s" .Values.image.repository .Values.image.tag -}}
{{- if .Values.image.digest }}{{ $ref = printf "%s@%s" $ref .Values.image.digest }}{{ end -}}
{{ $ref }}
{{- end -}}

{{- define "chaos-agent.continuous" -}}
{{- if ne .Values.mode "game-day" }}true{{ end -}}
{{- end -}}

{{/* The agent's pod spec, shared by the StatefulSet and the game day's CronJob (a test compares them).
     The caller adds what differs: restartPolicy, topologySpreadConstraints, the state volume. */}}
{{- define "chaos-agent.containers" -}}
serviceAccountName: chaos-agent
# Reverting open faults on SIGTERM (uncordon, delete Chaos Mesh objects, restore ConfigMaps)
# must finish before the kubelet kills the container.
terminationGracePeriodSeconds: 120
securityContext:
  runAsNonRoot: true
  runAsUser: 65532
  runAsGroup: 65532
  fsGroup: 65532
  seccompProfile:
    type: RuntimeDefault
containers:
  - name: agent
    image: {{ include "chaos-agent.image" . }}
    imagePullPolicy: {{ .Values.image.pullPolicy }}
    command: ["chaos-agent"]
    args: ["run", "--config", "/etc/chaos-agent/config.toml"]
    env:
      # Leader election: the Lease holder identity and the namespace the Lease lives in.
      - name: POD_NAME
        valueFrom:
          fieldRef:
            fieldPath: metadata.name
      - name: POD_NAMESPACE
        valueFrom:
          fieldRef:
            fieldPath: metadata.namespace
    ports:
      - name: http
        containerPort: 8080
        protocol: TCP
    livenessProbe:
      httpGet:
        path: /healthz
        port: http
      periodSeconds: 20
      timeoutSeconds: 3
      failureThreshold: 3
    readinessProbe:
      httpGet:
        path: /readyz
        port: http
      periodSeconds: 10
      timeoutSeconds: 3
      failureThreshold: 3
    startupProbe:
      httpGet:
        path: /healthz
        port: http
      periodSeconds: 5
      failureThreshold: 24
    resources:
      {{- toYaml .Values.resources | nindent 6 }}
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      runAsNonRoot: true
      runAsUser: 65532
      runAsGroup: 65532
      capabilities:
        drop: ["ALL"]
      seccompProfile:
        type: RuntimeDefault
    volumeMounts:
      - name: config
        mountPath: /etc/chaos-agent
        readOnly: true
      - name: state
        mountPath: /var/lib/chaos-agent
{{- end -}}

{{- define "chaos-agent.claimSpec" -}}
accessModes: ["ReadWriteOnce"]
{{- with .Values.persistence.storageClassName }}
storageClassName: {{ . }}
{{- end }}
resources:
  requests:
    storage: {{ .Values.persistence.size }}
{{- end -}}
