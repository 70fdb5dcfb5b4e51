package boot

import (
	"errors"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// awsConfigFromEnv builds the SDK configuration from what Lambda puts in the
// environment (region, the execution role's credentials) and, for the local
// stack, AWS_ENDPOINT_URL. It stands in for config.LoadDefaultConfig, whose
// profile, SSO and STS support would add ~1 MB to every bootstrap and is
// never used inside Lambda.
func awsConfigFromEnv(getenv func(string) string) (aws.Config, error) {
	region := getenv("AWS_REGION")
	if region == "" {
		region = getenv("AWS_DEFAULT_REGION")
	}
	if region == "" {
		return aws.Config{}, errors.New("AWS_REGION is not set (Lambda sets it; set it when running the function elsewhere)")
	}
	key, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	if key == "" || secret == "" {
		return aws.Config{}, errors.New("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them from the function's role)")
	}
	cfg := aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(key, secret, getenv("AWS_SESSION_TOKEN"))),
	}
	if endpoint := getenv("AWS_ENDPOINT_URL"); endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return aws.Config{}, errors.New("AWS_ENDPOINT_URL must be a URL such as http://127.0.0.1:5000")
		}
		cfg.BaseEndpoint = aws.String(endpoint)
	}
	return cfg, nil
}
