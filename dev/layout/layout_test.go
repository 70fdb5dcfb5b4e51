// Package layout holds only tests: they guard the line between what ships
// (functions/ and the shared/ packages they link) and what stays on a
// laptop (dev/, cmd/, package testing), and keep the domains free of HTTP
// and the AWS SDK.
package layout

import (
	"encoding/json"
	"io"
	"os/exec"
	"path"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/ottuops/ottu-lambda"

// pkg is what `go list -json` says of one package.
type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// list runs `go list -json` on patterns from the repository's root.
func list(t *testing.T, patterns ...string) []pkg {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json"}, patterns...)...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v", patterns, err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []pkg
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestFunctionsLinkNothingLaptopOnly(t *testing.T) {
	functions := list(t, "./functions/...")
	if len(functions) < 12 {
		t.Fatalf("found %d functions, want every functions/* folder", len(functions))
	}
	for _, fn := range functions {
		t.Run(path.Base(fn.ImportPath)+" links no dev/, cmd/ or testing package", func(t *testing.T) {
			for _, d := range fn.Deps {
				if d == "testing" || strings.HasPrefix(d, module+"/dev/") || strings.HasPrefix(d, module+"/cmd/") {
					t.Errorf("%s links %s", fn.ImportPath, d)
				}
			}
		})
	}
	t.Run("every shared/ package is linked by a function", func(t *testing.T) {
		linked := map[string]bool{}
		for _, fn := range functions {
			for _, d := range fn.Deps {
				linked[d] = true
			}
		}
		for _, p := range list(t, "./shared/...") {
			if !linked[p.ImportPath] {
				t.Errorf("%s is in shared/ but no function links it: move it to dev/ or cmd/", p.ImportPath)
			}
		}
	})
}

// adapters are the shared/ packages that speak HTTP or AWS by design: the
// Ottu client, Secrets Manager, the platform's event and AWS plumbing, and
// each capability's adapters (the folders named in adapterFolders). Every
// other shared/ package is a domain, so a new capability is guarded from
// its first commit.
var adapters = []string{
	"shared/ottu", "shared/ottu/ottuclient", "shared/secrets",
	"shared/platform/apigw", "shared/platform/boot", "shared/platform/config",
	"shared/platform/dynamo", "shared/platform/obs", "shared/platform/baseurl", "shared/platform/sfntask",
}

// adapterFolders are the names of a capability's adapter folders.
var adapterFolders = []string{"api", "ddb", "sfn", "app", "resultapp"}

// isDomain tells a domain package from an adapter by its path.
func isDomain(importPath string) bool {
	rel := strings.TrimPrefix(importPath, module+"/")
	return !slices.Contains(adapters, rel) && !slices.Contains(adapterFolders, path.Base(rel))
}

func TestDomainsKnowNoHTTPOrAWS(t *testing.T) {
	forbidden := func(imp string) bool {
		return imp == "net/http" || strings.HasPrefix(imp, "net/http/") ||
			strings.HasPrefix(imp, "github.com/aws/")
	}
	var domains []pkg
	for _, p := range list(t, "./shared/...") {
		if isDomain(p.ImportPath) {
			domains = append(domains, p)
		}
	}
	if len(domains) < 8 {
		t.Fatalf("found %d domain packages; the rule that tells them from adapters is wrong", len(domains))
	}
	for _, p := range domains {
		t.Run(strings.TrimPrefix(p.ImportPath, module+"/")+" imports neither net/http nor the AWS SDK", func(t *testing.T) {
			if bad := slices.DeleteFunc(slices.Clone(p.Imports), func(imp string) bool { return !forbidden(imp) }); len(bad) > 0 {
				t.Errorf("%s imports %v: that belongs in its adapter", p.ImportPath, bad)
			}
		})
	}
}
