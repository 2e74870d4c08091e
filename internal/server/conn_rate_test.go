package server

import (
	"log/slog"
	"testing"

	"github.com/sluicehq/sluice/internal/api"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/security/quota"
)

// fixedMetadata is a metadata view that never changes.
type fixedMetadata struct{ img *metadata.Image }

func (m fixedMetadata) Image() *metadata.Image      { return m.img }
func (m fixedMetadata) Leader() (id int32, ok bool) { return 1, true }

// TestConnectionCreationRate: with a connection_creation_rate of 1/s for 127.0.0.1, the first
// 10 connections (the rate's 10-window start allowance) are served and the 11th is closed
// unanswered (after its throttle time, at most one window).
func TestConnectionCreationRate(t *testing.T) {
	img, err := metadata.Empty().Apply(1, []metadata.Record{&metadata.ClientQuotaRecord{
		Entity: []metadata.QuotaEntityPart{{Type: metadata.QuotaEntityIP, Name: "127.0.0.1"}},
		Key:    metadata.QuotaConnectionCreationRate, Value: 1}})
	if err != nil {
		t.Fatal(err)
	}
	env := &api.Env{NodeID: 1, Logger: slog.New(slog.DiscardHandler), Metadata: fixedMetadata{img}, Quotas: quota.New(quota.Config{})}
	_, addr := startServer(t, Config{Env: env})
	req := apiVersionsRequest(3)
	for i := range 10 {
		c := dial(t, addr)
		c.send(req, int32(i))
		c.recv(req)
	}
	c := dial(t, addr)
	c.send(req, 10)
	c.expectClosed()
}
