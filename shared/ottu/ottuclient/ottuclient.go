// Package ottuclient builds the Ottu API client on a function's Base. It is
// apart from package app because the client needs Secrets Manager and the
// Ottu client code, which only the functions that call Ottu (the
// operations, operation-status and inquiry) should link.
package ottuclient

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/platform/boot"
	"github.com/ottuops/ottu-lambda/shared/platform/config"
	"github.com/ottuops/ottu-lambda/shared/secrets"
)

// NewBase is the start of every function that calls Ottu: the Base, with
// the API secret's id required besides env, and the client on it.
func NewBase(function string, getenv func(string) string, opts boot.Options, env ...string) (*boot.Base, *ottu.Client, error) {
	b, err := boot.NewBase(function, getenv, opts, append([]string{config.EnvAPISecretID}, env...)...)
	if err != nil {
		return nil, nil, err
	}
	client, err := New(b)
	if err != nil {
		return nil, nil, err
	}
	return b, client, nil
}

// New builds the Ottu client on the API secret (OTTU_API_SECRET_ID, which
// the caller required of b).
func New(b *boot.Base) (*ottu.Client, error) {
	secretOpts := []secrets.Option{secrets.WithTTL(b.Config.SecretsCacheTTL)}
	if b.Now != nil {
		secretOpts = append(secretOpts, secrets.WithClock(b.Now))
	}
	creds := secrets.NewProvider(secretsmanager.NewFromConfig(b.AWS), b.Config.APISecretID, secretOpts...)
	client, err := ottu.New(ottu.Config{
		BaseURL:        b.Config.BaseURL,
		Credentials:    creds,
		APIVersion:     b.Config.APIVersion,
		DeadlineMargin: b.Config.DeadlineMargin,
		UserAgent:      "ottu-lambda/" + b.Function,
	})
	if err != nil {
		return nil, fmt.Errorf("configure the Ottu client: %w", err)
	}
	return client, nil
}
