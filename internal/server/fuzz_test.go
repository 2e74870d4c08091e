package server

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/api"
)

// FuzzDecodeRequest feeds arbitrary frames (without the size prefix)
// through the request decoding path: header, registry lookup, kmsg body
// decode. None of it may panic; a frame either decodes or is an error.
func FuzzDecodeRequest(f *testing.F) {
	formatter := kmsg.NewRequestFormatter(kmsg.FormatterClientID("seed"))
	for _, a := range api.APIs() {
		for _, v := range []int16{a.MinVersion, a.MaxVersion} {
			req := kmsg.RequestForKey(a.Key)
			req.SetVersion(v)
			f.Add(formatter.AppendRequest(nil, req, 1)[4:])
		}
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		h, body, err := parseRequestHeader(frame)
		if err != nil {
			return
		}
		a, ok := api.Lookup(h.key)
		if !ok || !a.Supports(h.version) {
			return
		}
		msg, err := decodeBody(h.key, h.version, body)
		if err != nil {
			return
		}
		if msg.Key() != h.key || msg.GetVersion() != h.version {
			t.Fatalf("decoded key %d v%d from header key %d v%d", msg.Key(), msg.GetVersion(), h.key, h.version)
		}
	})
}
