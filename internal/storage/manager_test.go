package storage

import (
	"errors"
	"testing"

	"github.com/sluicehq/sluice/internal/vfs"
)

func TestCreateLogIdempotent(t *testing.T) {
	fsys := vfs.NewMem()
	m := openManager(t, fsys, nil)
	first, err := m.CreateLog(testTP, [16]byte{}, DefaultLogConfig())
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, first, 1, 10, 0)
	cfg := DefaultLogConfig()
	cfg.RetentionMs = 1234
	again, err := m.CreateLog(testTP, [16]byte{5}, cfg)
	if err != nil || again != first {
		t.Fatalf("second CreateLog: %v, same log %v", err, again == first)
	}
	if again.TopicID() != ([16]byte{5}) || again.Config().RetentionMs != 1234 {
		t.Fatalf("topic id %x, retention.ms %d", again.TopicID(), again.Config().RetentionMs)
	}
	if _, err := m.CreateLog(testTP, [16]byte{6}, cfg); !errors.Is(err, ErrTopicIDMismatch) {
		t.Fatalf("other topic id: %v", err)
	}
	if _, err := m.CreateLog(TopicPartition{Topic: "bad/name", Partition: 0}, [16]byte{}, cfg); err == nil {
		t.Fatal("invalid topic name accepted")
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CreateLog(testTP, [16]byte{5}, cfg); !errors.Is(err, ErrClosed) {
		t.Fatalf("CreateLog after Close: %v", err)
	}
	m2 := openManager(t, fsys, nil)
	l, ok := m2.Log(testTP)
	if !ok || l.TopicID() != ([16]byte{5}) || l.LogEndOffset() != 1 {
		t.Fatalf("reloaded: %v %x %d", ok, l.TopicID(), l.LogEndOffset())
	}
}

func TestWriteFaultsTakeTheLogOffline(t *testing.T) {
	cases := []struct {
		name        string
		groupCommit bool
		rule        vfs.Rule
		flush       bool // the fault hits the flush after the append (index entries are written out then)
	}{
		{"short write to the log", false, vfs.Rule{Op: vfs.OpWrite, Path: "*.log", ShortWrite: 30}, false},
		{"failed index write", false, vfs.Rule{Op: vfs.OpWrite, Path: "*.index"}, true},
		{"failed fsync in group commit", true, vfs.Rule{Op: vfs.OpSync, Path: "*.log"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := vfs.NewMem()
			in := vfs.NewInjector(fsys)
			cfg := DefaultLogConfig()
			cfg.IndexIntervalBytes = 1
			m := openManager(t, in, func(o *Options) { o.GroupCommit = tc.groupCommit; o.DefaultConfig = &cfg })
			l := createLog(t, m, cfg)
			other, err := m.CreateLog(TopicPartition{Topic: "other", Partition: 0}, [16]byte{2}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			mustAppend(t, l, 1, 100, 1)
			in.SetRules(tc.rule)
			_, err = l.Append(makeBatch(t, 1, 100, 2, 0), 0)
			if tc.flush && err == nil {
				err = l.Flush()
			}
			if !errors.Is(err, vfs.ErrInjected) {
				t.Fatalf("append under fault: %v", err)
			}
			in.SetRules()
			if _, err := l.Append(makeBatch(t, 1, 100, 3, 0), 0); !errors.Is(err, ErrLogOffline) {
				t.Fatalf("append after fault: %v", err)
			}
			if _, err := other.Append(makeBatch(t, 1, 100, 3, 0), 0); err != nil {
				t.Fatalf("other partition: %v", err)
			}
			// No clean marker: the next start recovers the damaged log.
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := fsys.Stat("/data/" + cleanShutdownName); !isNotExist(err) {
				t.Fatal("clean shutdown marker written with an offline log")
			}
			m2 := openManager(t, fsys, func(o *Options) { o.DefaultConfig = &cfg })
			l2, _ := m2.Log(testTP)
			if l2.checkUsable() != nil {
				t.Fatalf("recovered log offline: %v", l2.checkUsable())
			}
			got := readAll(t, l2, 0)
			checkContiguous(t, got, 0, l2.LogEndOffset())
			if l2.LogEndOffset() < 1 {
				t.Fatal("the acknowledged append was lost")
			}
		})
	}
}
