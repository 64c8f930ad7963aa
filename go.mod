module statbox

go 1.26.0

require (
	github.com/cilium/ebpf v0.22.0
	github.com/klauspost/compress v1.20.4
	github.com/valyala/fastjson v1.6.10
	golang.org/x/image v0.48.0
	golang.org/x/sys v0.50.0
)

require golang.org/x/text v0.44.0 // indirect
