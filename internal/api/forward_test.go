package api

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestEnvelopeRequestRoundTrip(t *testing.T) {
	for _, a := range APIs() {
		if !a.Forward {
			continue
		}
		for _, v := range []int16{a.MinVersion, a.MaxVersion} {
			msg := kmsg.RequestForKey(a.Key)
			msg.SetVersion(v)
			id := "client-1"
			in := &Request{Key: a.Key, Version: v, CorrelationID: 42, ClientID: &id, Msg: msg}
			out, err := DecodeRequest(EncodeRequest(in))
			if err != nil {
				t.Fatalf("%s v%d: %v", a.Name(), v, err)
			}
			if out.Key != a.Key || out.Version != v || out.CorrelationID != 42 || out.ClientID == nil || *out.ClientID != id {
				t.Fatalf("%s v%d: decoded %d v%d corr %d client %v", a.Name(), v, out.Key, out.Version, out.CorrelationID, out.ClientID)
			}
			resp := msg.ResponseKind()
			resp.SetVersion(v)
			back, corr, err := DecodeResponse(msg, EncodeResponse(in, resp))
			if err != nil || corr != 42 || back.Key() != a.Key {
				t.Fatalf("%s v%d response: %v corr %d", a.Name(), v, err, corr)
			}
		}
	}
}

func TestPrincipalRoundTrip(t *testing.T) {
	p, err := decodePrincipal(EncodePrincipal("User:alice"))
	if err != nil || p != "User:alice" {
		t.Fatalf("%q %v", p, err)
	}
	if _, err := decodePrincipal([]byte{0, 0, 9}); err == nil {
		t.Fatal("bad principal decoded")
	}
}

// FuzzEnvelopeData: whatever an Envelope carries decodes or fails, never panics, and an
// answer to what decodes decodes again.
func FuzzEnvelopeData(f *testing.F) {
	for _, a := range APIs() {
		if a.Forward {
			msg := kmsg.RequestForKey(a.Key)
			msg.SetVersion(a.MaxVersion)
			f.Add(EncodeRequest(&Request{Key: a.Key, Version: a.MaxVersion, Msg: msg}))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := DecodeRequest(data)
		if err != nil {
			return
		}
		if req.Msg.Key() != req.Key || req.Msg.GetVersion() != req.Version {
			t.Fatalf("decoded key %d v%d as %d v%d", req.Key, req.Version, req.Msg.Key(), req.Msg.GetVersion())
		}
		_, _, _ = DecodeResponse(req.Msg, data) // arbitrary bytes as a response: no panic
		resp := req.Msg.ResponseKind()
		if _, corr, err := DecodeResponse(req.Msg, EncodeResponse(req, resp)); err != nil || corr != req.CorrelationID {
			t.Fatalf("response round trip: %v", err)
		}
	})
}
