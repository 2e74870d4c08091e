package quorum

import (
	"fmt"
	"io"

	"github.com/hashicorp/raft"

	"github.com/sluicehq/sluice/internal/metadata"
)

// fsm is the Quorum seen as Raft's finite state machine. Raft calls its methods on one
// goroutine, in log order.
type fsm Quorum

// Apply applies one committed batch. Its result, returned to the proposer through the apply
// future, is the new *metadata.Image or an error; a batch that does not decode or apply is
// skipped identically on every node (the Image only advances its offset).
func (f *fsm) Apply(l *raft.Log) any {
	q := (*Quorum)(f)
	cur := q.image.Load()
	offset := int64(l.Index)
	records, err := metadata.DecodeBatch(l.Data)
	if err == nil {
		var next *metadata.Image
		if next, err = cur.Apply(offset, records); err == nil {
			q.publish(next)
			return next
		}
	}
	q.logger.Warn("metadata batch rejected", "offset", offset, "err", err)
	q.publish(cur.WithOffset(offset))
	return fmt.Errorf("apply metadata batch at offset %d: %w", offset, err)
}

// Snapshot captures the current Image. Images are immutable, so holding the pointer is the
// whole snapshot; Persist encodes it off the FSM goroutine.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	return imageSnapshot{img: (*Quorum)(f).image.Load()}, nil
}

// Restore replaces the Image with a snapshot's (at start, or when the leader sends one).
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	q := (*Quorum)(f)
	b, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("read metadata snapshot: %w", err)
	}
	img, err := metadata.DecodeSnapshot(b)
	if err != nil {
		return fmt.Errorf("restore metadata snapshot: %w", err)
	}
	q.publish(img)
	q.logger.Info("restored metadata snapshot", "offset", img.Offset(), "topics", img.NumTopics())
	return nil
}

type imageSnapshot struct{ img *metadata.Image }

func (s imageSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(metadata.AppendSnapshot(nil, s.img)); err != nil {
		sink.Cancel()
		return fmt.Errorf("write metadata snapshot: %w", err)
	}
	return sink.Close()
}

func (imageSnapshot) Release() {}
