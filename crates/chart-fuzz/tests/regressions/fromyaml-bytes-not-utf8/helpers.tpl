{{- define "t0" }}#{{ (substr 1 5 "😀x") -}}{{- end }}
