module htd.local/monitoring-config-check

go 1.26.0
