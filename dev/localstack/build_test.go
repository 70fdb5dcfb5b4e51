package localstack

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	echoOnce sync.Once
	echoBin  string
	echoErr  error
)

// echoBinary builds testdata/functions/echo once per test binary, through
// the same build the stack uses.
func echoBinary(t *testing.T) string {
	t.Helper()
	echoOnce.Do(func() {
		var bins map[string]string
		bins, echoErr = buildFunctions(context.Background(), "testdata", filepath.Join(buildRoot, "pool"),
			[]buildJob{{Name: "EchoFunction", Package: "./functions/echo"}})
		echoBin = bins["EchoFunction"]
	})
	if echoErr != nil {
		t.Fatalf("build the echo function: %v", echoErr)
	}
	return echoBin
}

var (
	rieOnce sync.Once
	rieBin  string
	rieErr  error
)

// rieBinary builds aws-lambda-rie from the module pinned in go.mod, once
// per test run.
func rieBinary(t *testing.T) string {
	t.Helper()
	rieOnce.Do(func() {
		rieBin, rieErr = buildRIE(context.Background(), "testdata", filepath.Join(buildRoot, "rie"))
	})
	if rieErr != nil {
		t.Fatalf("build aws-lambda-rie: %v", rieErr)
	}
	return rieBin
}

func TestBuildFunctions(t *testing.T) {
	t.Run("a function builds into <out>/<LogicalID>/bootstrap and runs", func(t *testing.T) {
		bin := echoBinary(t)
		if filepath.Base(bin) != "bootstrap" || filepath.Base(filepath.Dir(bin)) != "EchoFunction" {
			t.Fatalf("binary at %s, want .../EchoFunction/bootstrap", bin)
		}
		// Without the Runtime API, aws-lambda-go says what it expected.
		out, err := exec.Command(bin).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "AWS_LAMBDA_RUNTIME_API") {
			t.Fatalf("running bootstrap outside Lambda: err %v, output %q; want a complaint about AWS_LAMBDA_RUNTIME_API", err, out)
		}
	})

	t.Run("a package that does not build names the function and shows go's message", func(t *testing.T) {
		_, err := buildFunctions(context.Background(), "testdata", t.TempDir(), []buildJob{
			{Name: "EchoFunction", Package: "./functions/echo"},
			{Name: "MissingFunction", Package: "./functions/missing"},
		})
		if err == nil {
			t.Fatal("building a package that does not exist succeeded")
		}
		msg := err.Error()
		if !strings.Contains(msg, "MissingFunction") || !strings.Contains(msg, "functions/missing") || strings.Contains(msg, "build EchoFunction") {
			t.Fatalf("error %q should name MissingFunction and its package, and only it", msg)
		}
	})
}
