package store

import (
	"testing"

	"github.com/sluicehq/sluice/internal/metadata"
)

// TestURLOf: a registration's registry endpoint becomes the registry's base URL (https for
// security protocol 1); a broker without one, or unknown, has none.
func TestURLOf(t *testing.T) {
	plain, tls := Endpoint("127.0.0.2", 8081, false), Endpoint("reg.example", 443, true)
	kafka := metadata.Endpoint{Listener: "PLAINTEXT", Host: "127.0.0.1", Port: 9092}
	img, err := metadata.Empty().Apply(1, []metadata.Record{
		&metadata.RegisterBrokerRecord{BrokerID: 1, Endpoints: []metadata.Endpoint{kafka, plain}},
		&metadata.RegisterBrokerRecord{BrokerID: 2, Endpoints: []metadata.Endpoint{kafka, tls}},
		&metadata.RegisterBrokerRecord{BrokerID: 3, Endpoints: []metadata.Endpoint{kafka}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id   int32
		want string
		ok   bool
	}{{1, "http://127.0.0.2:8081", true}, {2, "https://reg.example:443", true}, {3, "", false}, {4, "", false}} {
		if got, ok := URLOf(img, tc.id); got != tc.want || ok != tc.ok {
			t.Errorf("URLOf(%d) = %q %v, want %q %v", tc.id, got, ok, tc.want, tc.ok)
		}
	}
	if _, _, exists := leaderOf(img); exists {
		t.Error("leaderOf found _schemas in an Image without it")
	}
}
