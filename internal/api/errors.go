package api

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
)

// ErrorCode maps an error from the broker's packages to the Kafka error code
// a client should see. nil maps to 0 (NONE). An error wrapping a *kerr.Error
// keeps that code; errors this package does not know become
// UNKNOWN_SERVER_ERROR, which clients treat as retriable-unknown, so
// unmapped errors are bugs to fix here rather than silent successes.
//
// This is the one place Kafka error codes are chosen for sentinel errors of
// other packages (STYLE: codes are chosen only in internal/api).
func ErrorCode(err error) int16 {
	if err == nil {
		return 0
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	for _, m := range errorMappings {
		if errors.Is(err, m.err) {
			return m.code.Code
		}
	}
	return kerr.UnknownServerError.Code
}

// errorMapping pairs a sentinel error with its Kafka error.
type errorMapping struct {
	err  error
	code *kerr.Error
}

// errorMappings is checked in order; more specific sentinels come first.
var errorMappings = []errorMapping{
	{context.DeadlineExceeded, kerr.RequestTimedOut},
}
