package record

import (
	"testing"

	"go.uber.org/goleak"
)

// The package promises to start no goroutines, pooled codecs included (zstd and lz4 coders run
// with concurrency 1, on the caller's goroutine); goleak holds it to that.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
