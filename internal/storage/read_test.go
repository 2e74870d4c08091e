package storage

import (
	"bytes"
	"errors"
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/internal/vfs"
)

// threeSegmentLog builds a log of 12 batches of 2 records each (offsets 0..23), rolled every
// 4 batches, each batch 200 bytes of values.
func threeSegmentLog(t *testing.T, fsys vfs.FS) (*Log, int) {
	t.Helper()
	m := openManager(t, fsys, nil)
	batch := makeBatch(t, 2, 100, 0, 0)
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = int64(4 * len(batch))
	cfg.IndexIntervalBytes = 1
	l := createLog(t, m, cfg)
	for i := range 12 {
		if _, err := l.Append(makeBatch(t, 2, 100, int64(i), uint64(i)), 0); err != nil {
			t.Fatal(err)
		}
	}
	if l.NumSegments() != 3 {
		t.Fatalf("%d segments, want 3", l.NumSegments())
	}
	return l, len(batch)
}

func TestRead(t *testing.T) {
	l, bsz := threeSegmentLog(t, vfs.NewMem())
	cases := []struct {
		name        string
		offset      int64
		maxBytes    int
		maxOffset   int64
		minOne      bool
		wantBatches []int64 // base offsets
		wantErr     error
	}{
		{"from start, one batch budget", 0, bsz, 100, false, []int64{0}, nil},
		{"budget cuts at whole batches", 0, 2*bsz + bsz/2, 100, false, []int64{0, 2}, nil},
		{"offset inside a batch returns the whole batch", 3, bsz, 100, false, []int64{2}, nil},
		{"budget below one batch without minOne", 0, bsz - 1, 100, false, nil, nil},
		{"budget below one batch with minOne", 0, 10, 100, true, []int64{0}, nil},
		{"across segments", 6, 3 * bsz, 100, false, []int64{6, 8, 10}, nil},
		{"whole log", 0, 100 * bsz, 100, false, []int64{0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22}, nil},
		{"max offset stops before a batch", 0, 100 * bsz, 4, false, []int64{0, 2}, nil},
		{"max offset inside a batch includes it", 0, 100 * bsz, 5, false, []int64{0, 2, 4}, nil},
		{"max offset across segments", 7, 100 * bsz, 12, false, []int64{6, 8, 10}, nil},
		{"offset at max offset", 4, 100 * bsz, 4, true, nil, nil},
		{"log end offset is empty", 24, 100, 100, true, nil, nil},
		{"above log end", 25, 100, 100, true, nil, ErrOffsetOutOfRange},
		{"negative", -1, 100, 100, true, nil, ErrOffsetOutOfRange},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := l.Read(tc.offset, int32(tc.maxBytes), tc.maxOffset, tc.minOne)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Read error %v, want %v", err, tc.wantErr)
			}
			defer res.Release()
			got := parseBatches(t, regionBytes(t, res))
			if len(got) != len(tc.wantBatches) {
				t.Fatalf("got %d batches %v, want bases %v", len(got), got, tc.wantBatches)
			}
			for i, b := range got {
				if b.base != tc.wantBatches[i] || b.tag != uint64(b.base/2) {
					t.Fatalf("batch %d: %+v, want base %d", i, b, tc.wantBatches[i])
				}
			}
			if len(got) > 0 && (res.FirstOffset != got[0].base || res.NextOffset != got[len(got)-1].last+1) {
				t.Fatalf("FirstOffset %d NextOffset %d for %v", res.FirstOffset, res.NextOffset, got)
			}
			if int64(len(regionBytes(t, res))) != res.Bytes() {
				t.Fatalf("Bytes() %d disagrees with the regions", res.Bytes())
			}
		})
	}
}

func TestReadBelowLogStart(t *testing.T) {
	l, _ := threeSegmentLog(t, vfs.NewMem())
	if err := l.DeleteRecordsBefore(9); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Read(8, 1000, 100, true); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below log start: %v", err)
	}
	res, err := l.Read(9, 1000, 100, true)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Release()
	// The batch holding 9 starts at 8: Kafka returns it whole; the consumer skips offset 8.
	if got := parseBatches(t, regionBytes(t, res)); got[0].base != 8 {
		t.Fatalf("first batch %+v", got[0])
	}
}

func TestRegionReadAt(t *testing.T) {
	l, bsz := threeSegmentLog(t, vfs.NewMem())
	res, err := l.Read(0, int32(2*bsz), 100, false)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Release()
	all := regionBytes(t, res)
	r := res.Regions[0]
	buf := make([]byte, 10)
	n, err := r.ReadAt(buf, r.Len()-5)
	if n != 5 || !errors.Is(err, io.EOF) || !bytes.Equal(buf[:5], all[len(all)-5:]) {
		t.Fatalf("ReadAt at the end = %d, %v", n, err)
	}
	if _, err := r.ReadAt(buf, r.Len()); !errors.Is(err, io.EOF) {
		t.Fatalf("ReadAt past the end: %v", err)
	}
}

// TestRegionSendfile sends regions of an OS-backed log over a real TCP connection (sendfile
// path) and through a plain writer (copy path), and checks the bytes are the same.
func TestRegionSendfile(t *testing.T) {
	dir := t.TempDir()
	m := openManager(t, vfs.OS, func(o *Options) { o.Dir = filepath.Join(dir, "data") })
	cfg := DefaultLogConfig()
	l := createLog(t, m, cfg)
	for i := range 50 {
		mustAppend(t, l, 10, 1000, int64(i))
	}
	res, err := l.Read(0, 1<<30, l.LogEndOffset(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Release()
	var want bytes.Buffer
	for _, r := range res.Regions {
		if _, err := r.copyTo(&want); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var got bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.Copy(&got, c)
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	// A small send buffer makes sendfile hit EAGAIN and wait in the poller.
	_ = conn.(*net.TCPConn).SetWriteBuffer(4096)
	var sent int64
	for _, r := range res.Regions {
		n, err := r.WriteTo(conn)
		if err != nil {
			t.Fatalf("WriteTo over TCP: %v", err)
		}
		sent += n
	}
	conn.Close()
	wg.Wait()
	if sent != res.Bytes() || !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("sendfile sent %d bytes (%d received), want %d identical bytes", sent, got.Len(), want.Len())
	}
	if len(parseBatches(t, got.Bytes())) != 50 {
		t.Fatal("received bytes do not hold the 50 batches")
	}
}
