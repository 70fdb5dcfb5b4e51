package localstack

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ottuops/ottu-lambda/dev/testkit"
)

func TestStartProgress(t *testing.T) {
	var progress testkit.Buffer
	opts := testOptions(t)
	opts.Progress = &progress
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("start the local stack: %v", err)
	}
	defer s.Close()

	lines := strings.Split(strings.TrimSuffix(progress.String(), "\n"), "\n")
	// Each step in the order the stack takes it.
	steps := []struct{ name, want string }{
		{"the sandbox start is told with its URL", "starting the Ottu sandbox on " + s.URLs().Sandbox},
		{"the translation is told with the template", "translating testdata/template.yaml with aws-sam-translator"},
		{"the build is told with the number of functions", "building the function binaries and aws-lambda-rie… (1;"},
		{"the moto start is told with its address", "starting moto on 127.0.0.1:0"},
		{"the secrets are told", "creating the secrets (2) in moto"},
		{"the wait for the builds is told", "waiting for the function builds"},
		{"the end of the build is told with its time", "function binaries built in "},
		{"the deploy is told with the stack's name", "deploying the stack ottu-lambda-local to moto's CloudFormation"},
		{"the created stack is told with its status and time", "stack ottu-lambda-local CREATE_COMPLETE in "},
		{"the function runtimes are told with their number", "starting the function runtimes under aws-lambda-rie… (1)"},
		{"the seeding of the demo is told", "seeding the demo data"},
		{"readiness is told last, with the API's URL", "ready: merchant API and Lambda Invoke API on " + s.URLs().API},
	}
	next := 0
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			for next < len(lines) && !strings.HasPrefix(lines[next], step.want) {
				next++
			}
			if next == len(lines) {
				t.Fatalf("no line starting %q after the earlier steps in:\n%s", step.want, progress.String())
			}
			next++
		})
	}
	t.Run("nothing follows ready", func(t *testing.T) {
		if !strings.HasPrefix(lines[len(lines)-1], "ready:") {
			t.Errorf("the last line is %q, want the ready line", lines[len(lines)-1])
		}
	})
}

func TestStackReachesMotoThroughTheProxy(t *testing.T) {
	s := sharedStack(t)
	if s.URLs().Moto != s.moto.Endpoint || s.moto.Endpoint == s.moto.Direct || s.moto.Proxy == nil {
		t.Fatalf("the stack's moto URL is %s (proxy %s, moto_server %s): want the proxy, which functions get as AWS_ENDPOINT_URL",
			s.URLs().Moto, s.moto.Endpoint, s.moto.Direct)
	}
}
