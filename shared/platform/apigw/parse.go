package apigw

import (
	"encoding/base64"
	"fmt"
	"mime"
	"strings"

	"github.com/ottuops/ottu-lambda/shared/platform/problem"
)

// DefaultMaxBodyBytes is the contract's 64 KiB request limit.
const DefaultMaxBodyBytes = 64 << 10

// DecodeBody returns the raw body bytes of an API Gateway event, refusing
// one over limit before decoding it.
func DecodeBody(body string, isBase64 bool, limit int) ([]byte, error) {
	if !isBase64 {
		if len(body) > limit {
			return nil, tooLarge(limit)
		}
		return []byte(body), nil
	}
	if base64.StdEncoding.DecodedLen(len(body)) > limit+3 {
		return nil, tooLarge(limit)
	}
	b, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, &problem.Error{Code: problem.CodeInvalidRequest, Detail: "The request body is marked base64 but is not valid base64."}
	}
	if len(b) > limit {
		return nil, tooLarge(limit)
	}
	return b, nil
}

func tooLarge(limit int) error {
	return &problem.Error{Code: problem.CodeBodyTooLarge,
		Detail: fmt.Sprintf("The request body is larger than %d bytes; send only session_id or order_no, amount and extra.", limit)}
}

// BoolQuery reads a true/false query parameter; absent is false.
func BoolQuery(query map[string]string, name string) (bool, error) {
	switch v := query[name]; v {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, problem.Invalid(problem.CodeInvalidRequest, name, name+" must be true or false.")
}

// CheckContentType accepts JSON (application/json or any +json type) or
// no Content-Type at all; anything else is refused before it is read.
func CheckContentType(value string) error {
	if value == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(value)
	if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		return nil
	}
	return &problem.Error{Code: problem.CodeUnsupportedMediaType,
		Detail: fmt.Sprintf("The Content-Type %q is not JSON; send the body as application/json.", value)}
}
