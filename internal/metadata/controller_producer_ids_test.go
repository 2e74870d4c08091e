package metadata

import (
	"context"
	"errors"
	"testing"
)

func TestAllocateProducerIDs(t *testing.T) {
	ctl, log := newTestController(t, []int32{1}, nil)
	ctx := context.Background()
	first, err := ctl.AllocateProducerIDs(ctx, 1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	second, err := ctl.AllocateProducerIDs(ctx, 1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if first != 0 || second != 1000 || log.img.NextProducerID() != 2000 {
		t.Fatalf("blocks start at %d and %d, next %d; want 0, 1000, 2000", first, second, log.img.NextProducerID())
	}
	// A snapshot round trip keeps the high mark, so a restarted controller never reissues ids.
	restored, err := DecodeSnapshot(AppendSnapshot(nil, log.img))
	if err != nil {
		t.Fatal(err)
	}
	if restored.NextProducerID() != 2000 {
		t.Fatalf("restored next producer id %d, want 2000", restored.NextProducerID())
	}

	cases := []struct {
		name string
		size int64
		lead bool
		want error
	}{
		{"zero size", 0, true, ErrInvalidRequest},
		{"not the controller", 10, false, ErrNotController},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			log.leader = tc.lead
			defer func() { log.leader = true }()
			if _, err := ctl.AllocateProducerIDs(ctx, 1, tc.size); !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
}
