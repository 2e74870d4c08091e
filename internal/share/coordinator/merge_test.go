package coordinator

import (
	"reflect"
	"testing"

	"github.com/sluicehq/sluice/internal/share"
)

func sb(first, last int64, state int8, count int16) share.StateBatch {
	return share.StateBatch{FirstOffset: first, LastOffset: last, DeliveryState: state, DeliveryCount: count}
}

func TestMergeBatches(t *testing.T) {
	const av, ack, arc = share.StateAvailable, share.StateAcknowledged, share.StateArchived
	cases := []struct {
		name     string
		cur, upd []share.StateBatch
		start    int64
		want     []share.StateBatch
	}{
		{"into empty", nil, []share.StateBatch{sb(0, 9, av, 1)}, 0, []share.StateBatch{sb(0, 9, av, 1)}},
		{"middle split", []share.StateBatch{sb(0, 9, av, 1)}, []share.StateBatch{sb(3, 5, ack, 1)}, 0,
			[]share.StateBatch{sb(0, 2, av, 1), sb(3, 5, ack, 1), sb(6, 9, av, 1)}},
		{"covers several", []share.StateBatch{sb(0, 2, av, 1), sb(3, 5, ack, 1), sb(6, 9, av, 2)}, []share.StateBatch{sb(1, 7, arc, 3)}, 0,
			[]share.StateBatch{sb(0, 0, av, 1), sb(1, 7, arc, 3), sb(8, 9, av, 2)}},
		{"joins alike", []share.StateBatch{sb(0, 4, ack, 1)}, []share.StateBatch{sb(5, 9, ack, 1)}, 0, []share.StateBatch{sb(0, 9, ack, 1)}},
		{"later update wins", nil, []share.StateBatch{sb(0, 9, av, 1), sb(5, 9, ack, 1)}, 0,
			[]share.StateBatch{sb(0, 4, av, 1), sb(5, 9, ack, 1)}},
		{"start offset prunes", []share.StateBatch{sb(0, 4, ack, 1), sb(5, 9, av, 2)}, nil, 7, []share.StateBatch{sb(7, 9, av, 2)}},
		{"all pruned", []share.StateBatch{sb(0, 4, ack, 1)}, nil, 5, nil},
		{"unordered input", nil, []share.StateBatch{sb(10, 12, av, 1), sb(0, 2, ack, 1)}, 0,
			[]share.StateBatch{sb(0, 2, ack, 1), sb(10, 12, av, 1)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cur := append([]share.StateBatch(nil), c.cur...)
			got := mergeBatches(c.cur, c.upd, c.start)
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
			if !reflect.DeepEqual(cur, c.cur) {
				t.Fatalf("cur modified: %+v", c.cur)
			}
		})
	}
}
