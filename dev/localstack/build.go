package localstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"unicode"
)

// rieModulePackage is AWS's Runtime Interface Emulator, a tool dependency
// in go.mod (go get -tool), so its version is pinned and nothing is
// downloaded at run time beyond what the module cache holds.
const rieModulePackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// rieBinaryName is the emulator's file in the build directory.
const rieBinaryName = "aws-lambda-rie"

// buildRIE compiles aws-lambda-rie into out for this machine.
func buildRIE(ctx context.Context, dir, out string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", errors.New("the go command is not on PATH; it is needed to build aws-lambda-rie")
	}
	bin := filepath.Join(out, rieBinaryName)
	if err := goBuild(ctx, goBin, dir, nil, rieModulePackage, bin); err != nil {
		return "", fmt.Errorf("build aws-lambda-rie (%s, pinned in go.mod): %w", rieModulePackage, err)
	}
	return bin, nil
}

// buildJob is one function binary to compile.
type buildJob struct {
	// Name is the function's logical id; the binary goes to <out>/<Name>/bootstrap.
	Name string
	// Package is the Go package, relative to the template's directory.
	Package string
}

// buildFunctions compiles each function as Lambda's provided.al2023 runtime
// expects it (a static "bootstrap" without the RPC mode), for this machine's
// GOOS and GOARCH, and returns the binary path per function. Builds run two
// at a time; the Go build cache makes repeated packages cheap.
func buildFunctions(ctx context.Context, dir, out string, jobs []buildJob) (map[string]string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, errors.New("the go command is not on PATH; it is needed to build the functions")
	}
	var (
		mu   sync.Mutex
		bins = make(map[string]string, len(jobs))
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, 2)
	)
	for _, job := range jobs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			bin := filepath.Join(out, job.Name, "bootstrap")
			err := buildOne(ctx, goBin, dir, job.Package, bin)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("build %s (%s): %w", job.Name, job.Package, err))
				return
			}
			bins[job.Name] = bin
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return bins, nil
}

func buildOne(ctx context.Context, goBin, dir, pkg, bin string) error {
	// The Makefile's LAMBDA_TAGS, so what runs here is what is deployed.
	return goBuild(ctx, goBin, dir, []string{"-tags", "lambda.norpc,nethttpomithttp2"}, pkg, bin)
}

func goBuild(ctx context.Context, goBin, dir string, flags []string, pkg, bin string) error {
	args := append(append([]string{"build"}, flags...), "-o", bin, pkg)
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(output.String()); msg != "" {
			return fmt.Errorf("%w\n%s", err, msg)
		}
		return err
	}
	return nil
}

// PackageFor is the project's convention from logical id to Go package, the
// one the Makefile's build-<LogicalId> targets follow:
// OperationStatusFunction → ./functions/operation-status.
func PackageFor(logicalID string) string {
	base := strings.TrimSuffix(logicalID, "Function")
	if base == "" {
		base = logicalID
	}
	return "./functions/" + kebab(base)
}

// kebab writes CamelCase as kebab-case, keeping acronyms together
// (HTTPProxy → http-proxy).
func kebab(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) && i > 0 {
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				b.WriteByte('-')
			}
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}
