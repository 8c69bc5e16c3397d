{{- define "x" }}{{ . }}{{ end }}
