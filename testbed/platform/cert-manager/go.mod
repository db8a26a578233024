module github.com/cert-manager/cert-manager/htd-testbed

go 1.26.0
