module htd.local/testbed/standin

go 1.26
