package payment

import (
	"errors"
	"fmt"
)

// MaxTrackingKeyLength is the longest Tracking-Key accepted: Ottu's limit,
// and the contract's.
const MaxTrackingKeyLength = 255

// CheckTrackingKey is the one rule of a Tracking-Key's syntax: 1 to 255
// visible ASCII characters, so that it can travel as an HTTP header and a
// DynamoDB key unchanged. Its errors are sentences a person can act on;
// callers wrap them in their own vocabulary.
func CheckTrackingKey(key string) error {
	if key == "" {
		return errors.New("the Tracking-Key is empty; send 1 to 255 visible ASCII characters")
	}
	if len(key) > MaxTrackingKeyLength {
		return fmt.Errorf("the Tracking-Key is %d characters long; Ottu accepts at most %d", len(key), MaxTrackingKeyLength)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return fmt.Errorf("the Tracking-Key may contain only visible ASCII characters (no spaces, control characters or non-ASCII letters): character %d is not one", i+1)
		}
	}
	return nil
}
