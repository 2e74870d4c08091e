package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/api"
)

// fileRecords is a record set backed by a file section, like a storage
// region; it remembers which writer it was handed.
type fileRecords struct {
	f        *os.File
	off, n   int64
	mu       sync.Mutex
	writerTo []io.Writer
}

func (r *fileRecords) Len() int64 { return r.n }

func (r *fileRecords) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	r.writerTo = append(r.writerTo, w)
	r.mu.Unlock()
	return io.Copy(w, io.NewSectionReader(r.f, r.off, r.n))
}

// recordFile writes parts to one file and returns a record set per part.
func recordFile(t *testing.T, parts ...[]byte) []*fileRecords {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "00000000000000000000.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	var out []*fileRecords
	var off int64
	for _, p := range parts {
		if _, err := f.Write(p); err != nil {
			t.Fatal(err)
		}
		out = append(out, &fileRecords{f: f, off: off, n: int64(len(p))})
		off += int64(len(p))
	}
	return out
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

// fetchResponses builds the same Fetch response twice: once with records
// copied in (what kmsg alone would send), once with splices.
func fetchResponses(version int16, records [][]byte, sets []*fileRecords) (copied *kmsg.FetchResponse, spliced api.Response) {
	build := func(batches func(i int) []byte) *kmsg.FetchResponse {
		resp := kmsg.NewPtrFetchResponse()
		resp.Version = version
		topic := kmsg.NewFetchResponseTopic()
		topic.Topic = "orders"
		topic.TopicID = [16]byte{1, 2, 3}
		for i := range records {
			p := kmsg.NewFetchResponseTopicPartition()
			p.Partition = int32(i)
			p.HighWatermark = 1000 + int64(i)
			p.RecordBatches = batches(i)
			topic.Partitions = append(topic.Partitions, p)
		}
		resp.Topics = append(resp.Topics, topic)
		return resp
	}
	copied = build(func(i int) []byte { return records[i] })
	var splices []api.Splice
	msg := build(func(i int) []byte {
		sp := api.NewSplice(sets[i])
		splices = append(splices, sp)
		return sp.Placeholder
	})
	return copied, api.Response{Msg: msg, Splices: splices}
}

func expectedFrame(key int16, correlationID int32, msg kmsg.Response) []byte {
	b := appendResponseHeader(nil, key, correlationID, msg.IsFlexible())
	b = msg.AppendTo(b)
	size := uint32(len(b) - 4)
	b[0], b[1], b[2], b[3] = byte(size>>24), byte(size>>16), byte(size>>8), byte(size)
	return b
}

func TestSplicedResponseMatchesCopied(t *testing.T) {
	records := [][]byte{pattern(100, 1), {}, pattern(300, 2), pattern(20000, 3)}
	for _, version := range []int16{4, 11, 12, 13, 16, 18} {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) {
			copied, spliced := fetchResponses(version, records, recordFile(t, records...))
			var wire bytes.Buffer
			fw := frameWriter{w: &wire}
			if err := fw.writeResponse(1, 42, spliced); err != nil {
				t.Fatal(err)
			}
			want := expectedFrame(1, 42, copied)
			if !bytes.Equal(wire.Bytes(), want) {
				t.Fatalf("spliced frame (%d bytes) differs from kmsg's encoding (%d bytes)", wire.Len(), len(want))
			}
			if bytes.Contains(fw.buf, records[3]) || bytes.Contains(fw.buf, records[2]) {
				t.Fatal("record bytes passed through the response buffer")
			}
		})
	}
}

func TestSpliceMissingPlaceholderFails(t *testing.T) {
	records := [][]byte{pattern(10, 1)}
	_, spliced := fetchResponses(12, records, recordFile(t, records...))
	spliced.Msg.(*kmsg.FetchResponse).Topics[0].Partitions[0].RecordBatches = []byte("not the placeholder")
	fw := frameWriter{w: io.Discard}
	if err := fw.writeResponse(1, 1, spliced); err == nil {
		t.Fatal("a response whose placeholder is missing was written")
	}
}

// TestSplicedOverTCP serves a Fetch whose records come from a file and
// checks that the bytes on the wire are kmsg's encoding with the records in
// place, and that the record sets were handed the TCP connection itself
// (which is what lets them use sendfile).
func TestSplicedOverTCP(t *testing.T) {
	records := [][]byte{pattern(5000, 9), pattern(70000, 4)}
	sets := recordFile(t, records...)
	var mu sync.Mutex
	var copiedResp *kmsg.FetchResponse
	lookup := func(key int16) (api.API, bool) {
		if key != 1 {
			return api.Lookup(key)
		}
		return api.API{Key: 1, MinVersion: 4, MaxVersion: 18, Handle: func(_ context.Context, _ *api.Env, req *api.Request) (api.Response, error) {
			copied, spliced := fetchResponses(req.Version, records, sets)
			mu.Lock()
			copiedResp = copied
			mu.Unlock()
			return spliced, nil
		}}, true
	}
	_, addr := startServer(t, Config{Lookup: lookup})
	c := dial(t, addr)
	for corr, version := range []int16{4, 12, 18} {
		req := kmsg.NewPtrFetchRequest()
		req.Version = version
		c.send(req, int32(corr))
		got, err := c.readFrame()
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		want := expectedFrame(1, int32(corr), copiedResp)
		mu.Unlock()
		if !bytes.Equal(got, want[4:]) {
			t.Fatalf("v%d: wire bytes differ from kmsg's encoding", version)
		}
	}
	for i, s := range sets {
		for _, w := range s.writerTo {
			if _, ok := w.(*net.TCPConn); !ok {
				t.Fatalf("record set %d written to %T, not the TCP connection", i, w)
			}
		}
	}
}
