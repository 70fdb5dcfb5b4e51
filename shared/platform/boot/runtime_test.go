package boot

import (
	"runtime"
	"testing"
)

func TestUseOneProcessorOnlyInsideLambda(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }

	runtime.GOMAXPROCS(2)
	useOneProcessor(getenv)
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Fatalf("outside Lambda GOMAXPROCS became %d", got)
	}
	env["AWS_LAMBDA_RUNTIME_API"] = "127.0.0.1:9001"
	env["GOMAXPROCS"] = "2"
	useOneProcessor(getenv)
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Fatalf("an explicit GOMAXPROCS was overridden: %d", got)
	}
	delete(env, "GOMAXPROCS")
	useOneProcessor(getenv)
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("inside Lambda GOMAXPROCS is %d, want 1", got)
	}
}
