package httpapi

import (
	"errors"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/metadata"
)

func TestBrokerReady(t *testing.T) {
	register := &metadata.RegisterBrokerRecord{BrokerID: 2, Epoch: 10, Fenced: true,
		Endpoints: []metadata.Endpoint{{Listener: "PLAINTEXT", Host: "127.0.0.1", Port: 9092}}}
	fenced, err := metadata.Empty().Apply(10, []metadata.Record{register})
	if err != nil {
		t.Fatal(err)
	}
	unfenced, err := fenced.Apply(11, []metadata.Record{&metadata.BrokerRegistrationChangeRecord{BrokerID: 2, BrokerEpoch: 10, Fenced: metadata.BrokerUnfence}})
	if err != nil {
		t.Fatal(err)
	}
	shuttingDown, err := unfenced.Apply(12, []metadata.Record{&metadata.BrokerRegistrationChangeRecord{BrokerID: 2, BrokerEpoch: 10, InControlledShutdown: 1}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		image   *metadata.Image
		epoch   int64
		wantErr string // "" means ready
	}{
		{"not registered", metadata.Empty(), -1, "has not registered with the controller"},
		{"registered, metadata behind", metadata.Empty(), 10, "catching up on metadata"},
		{"registered, fenced", fenced, 10, "is fenced at metadata offset 10"},
		{"unfenced", unfenced, 10, ""},
		{"controlled shutdown", shuttingDown, 10, "in controlled shutdown"},
		{"older registration in metadata", unfenced, 20, "catching up on metadata"},
		{"newer registration in metadata", unfenced, 5, "another process registered with this node id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := BrokerReady(2, func() *metadata.Image { return tc.image }, func() int64 { return tc.epoch })()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("not ready: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestAllReadyListsEveryReason(t *testing.T) {
	ok := func() error { return nil }
	ready := AllReady(ok, func() error { return errors.New("starting") }, ok, func() error { return errors.New("fenced") })
	err := ready()
	if err == nil || err.Error() != "starting\nfenced" {
		t.Errorf("err = %v, want both reasons", err)
	}
	if err := AllReady(ok, ok)(); err != nil {
		t.Errorf("all passing: %v", err)
	}
}
