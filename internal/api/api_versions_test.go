package api

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestValidSoftwareField(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want bool
	}{
		{"empty", "", false},
		{"single", "a", true},
		{"kgo", "kgo", true},
		{"version", "2.0.2-RC1", true},
		{"leading dot", ".x", false},
		{"trailing dash", "x-", false},
		{"space", "a b", false},
		{"slash", "a/b", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := validSoftwareField(c.in); got != c.want {
				t.Fatalf("validSoftwareField(%q) = %v, want %v", c.in, got, c.want)
			}
		})
	}
}

func TestApiVersionsListsRegistry(t *testing.T) {
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 3
	req.ClientSoftwareName, req.ClientSoftwareVersion = "test", "1.0"
	for _, l := range []struct {
		name       string
		kind       Listeners
		has, lacks []int16
	}{
		{"PLAINTEXT", BrokerListener, []int16{0, 1, 3, 18, 19}, []int16{58, 62, 63, 67}},
		{ControllerListenerName, ControllerListener, []int16{18, 19, 58, 62, 63, 67}, []int16{0, 1, 3}},
	} {
		out, err := handleApiVersions(context.Background(), &Env{}, &Request{Key: 18, Version: 3, Msg: req, Conn: ConnInfo{Listener: l.name}})
		if err != nil {
			t.Fatal(err)
		}
		resp := out.Msg.(*kmsg.ApiVersionsResponse)
		want := APIsFor(l.kind)
		if len(resp.ApiKeys) != len(want) {
			t.Fatalf("%s: advertised %d keys, %d are served there", l.name, len(resp.ApiKeys), len(want))
		}
		advertised := map[int16]bool{}
		for i, a := range want {
			k := resp.ApiKeys[i]
			if k.ApiKey != a.Key || k.MinVersion != a.MinVersion || k.MaxVersion != a.MaxVersion {
				t.Fatalf("%s: key %d advertised %d–%d, registered %d–%d", l.name, a.Key, k.MinVersion, k.MaxVersion, a.MinVersion, a.MaxVersion)
			}
			advertised[k.ApiKey] = true
		}
		for _, k := range l.has {
			if !advertised[k] {
				t.Errorf("%s does not list key %d", l.name, k)
			}
		}
		for _, k := range l.lacks {
			if advertised[k] {
				t.Errorf("%s lists key %d", l.name, k)
			}
		}
	}

	req.ClientSoftwareName = "bad name"
	out, _ := handleApiVersions(context.Background(), &Env{}, &Request{Key: 18, Version: 3, Msg: req})
	if code := out.Msg.(*kmsg.ApiVersionsResponse).ErrorCode; code != kerr.InvalidRequest.Code {
		t.Fatalf("bad software name: error %d, want INVALID_REQUEST", code)
	}
}

func TestUnsupportedVersionResponse(t *testing.T) {
	msg, ok := UnsupportedVersionResponse(18)
	if !ok {
		t.Fatal("ApiVersions must have a fallback answer")
	}
	resp := msg.(*kmsg.ApiVersionsResponse)
	if resp.Version != 0 || resp.ErrorCode != kerr.UnsupportedVersion.Code || len(resp.ApiKeys) != 1 || resp.ApiKeys[0].ApiKey != 18 {
		t.Fatalf("fallback = %+v", resp)
	}
	if _, ok := UnsupportedVersionResponse(0); ok {
		t.Fatal("Produce must have no fallback answer (Kafka closes the connection)")
	}
}
