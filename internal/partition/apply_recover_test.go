package partition

import (
	"errors"
	"testing"
)

// TestApplyPartitionPanicFailsThatPartition: a panic while applying one partition's metadata
// comes back as that partition's ErrPanicked error instead of ending the process.
func TestApplyPartitionPanicFailsThatPartition(t *testing.T) {
	m := &Manager{}
	err := m.applyPartitionGuarded(&partitionWork{}) // no topic: applyPartition dereferences nil
	if !errors.Is(err, ErrPanicked) {
		t.Fatalf("err %v, want ErrPanicked", err)
	}
}
