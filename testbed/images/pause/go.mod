module htd.local/testbed/pause

go 1.26
