package secrets

import (
	"context"
	"fmt"
)

const webhookSecretExample = `{"webhook_key": "…"}`

// LoadWebhookKey reads the webhook secret {"webhook_key"} once, uncached.
func LoadWebhookKey(ctx context.Context, client GetSecretValueAPI, secretID string) (string, error) {
	text, err := fetchText(ctx, client, secretID)
	if err != nil {
		return "", err
	}
	return parseWebhookSecret(secretID, text)
}

func parseWebhookSecret(id, text string) (string, error) {
	fields, err := parseObject(id, text, webhookSecretExample)
	if err != nil {
		return "", err
	}
	key, err := stringField(id, fields, "webhook_key", "webhook_key")
	if err != nil {
		return "", err
	}
	if key == "" {
		return "", invalid(id, "has no webhook_key: store %s with the HMAC key from Ottu's dashboard", webhookSecretExample)
	}
	return key, nil
}

// WebhookKeyProvider caches the webhook key like Provider caches the API
// credentials: per execution environment, for the TTL, read again on refresh.
type WebhookKeyProvider struct {
	secretID string
	cache    *cache[string]
}

// NewWebhookKeyProvider reads secretID (a name or ARN) through client on
// first use.
func NewWebhookKeyProvider(client GetSecretValueAPI, secretID string, opts ...Option) *WebhookKeyProvider {
	return &WebhookKeyProvider{
		secretID: secretID,
		cache: newCache(opts, func(ctx context.Context) (string, error) {
			return LoadWebhookKey(ctx, client, secretID)
		}),
	}
}

// WebhookKey returns the cached key. refresh reads the secret again, for a
// signature that failed with the cached key (the key may have been
// rotated); the minimum refresh interval keeps a stream of forged callbacks
// from turning into a stream of Secrets Manager calls.
func (p *WebhookKeyProvider) WebhookKey(ctx context.Context, refresh bool) (string, error) {
	return p.cache.get(ctx, refresh)
}

// Format prints the secret id only, whatever the verb.
func (p *WebhookKeyProvider) Format(f fmt.State, _ rune) {
	_, _ = fmt.Fprintf(f, "secrets.WebhookKeyProvider{SecretID: %s}", p.secretID)
}
