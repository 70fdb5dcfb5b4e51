package boot

import "runtime"

// useOneProcessor runs the Go scheduler on one P inside Lambda, unless
// GOMAXPROCS is set. An execution environment serves one request at a time
// and, at 256 MB, gets about a seventh of a vCPU while the VM shows two, so
// the Go default (GOMAXPROCS 2, also under a cgroup CPU limit, whose
// default has a floor of 2) only adds threads that spin and wake each
// other while a request waits on DynamoDB or Ottu: measured with make
// bench, one P costs less CPU per request for the functions and for a
// bare HTTP client alike (BENCHMARKS.md). AWS_LAMBDA_RUNTIME_API is set
// only inside Lambda (and the local stack's runtime emulator), so tests
// and tools keep the default.
func useOneProcessor(getenv func(string) string) {
	if getenv("AWS_LAMBDA_RUNTIME_API") == "" || getenv("GOMAXPROCS") != "" {
		return
	}
	runtime.GOMAXPROCS(1)
}
