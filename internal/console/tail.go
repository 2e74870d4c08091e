package console

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/coder/websocket"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The live tail: a websocket at /topics/{name}/messages/live?partition=&key=&value= on which
// the server pushes the records produced after it opened, one JSON message each (a
// messageRow), decoded as asked. The consumer is the session's user's, from the partitions'
// ends, with no group; it is closed when the socket closes. Bounds: maxTails sockets in a
// console; a burst of more than tailBurst records in one poll sends the newest tailBurst and
// a {"skipped": n} message; a client that does not read for tailWriteTimeout is dropped.
// The browser's Origin must be this host (websocket.Accept's check).

const (
	maxTails         = 32
	tailBurst        = 200
	tailWriteTimeout = 10 * time.Second
	tailMaxLifetime  = 8 * time.Hour
)

type tailNote struct {
	Skipped int    `json:"skipped,omitempty"`
	Error   string `json:"error,omitempty"`
	Ready   bool   `json:"ready,omitempty"`
}

func (c *Console) liveTail(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	q, err := parseBrowseQuery(r)
	if err != nil {
		c.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	ms := c.messages()
	ms.mu.Lock()
	if ms.tails >= maxTails {
		ms.mu.Unlock()
		c.fail(w, r, http.StatusTooManyRequests, "too many live tails open")
		return
	}
	ms.tails++
	ms.mu.Unlock()
	defer func() {
		ms.mu.Lock()
		ms.tails--
		ms.mu.Unlock()
	}()

	conn, err := websocket.Accept(w, r, nil) // same-host Origin only
	if err != nil {
		return // Accept has answered
	}
	conn.SetReadLimit(4 << 10)
	defer conn.CloseNow()
	ctx, cancel := context.WithTimeout(context.Background(), tailMaxLifetime)
	defer cancel()
	ctx = conn.CloseRead(ctx) // ends when the page closes the socket
	go func() {
		select {
		case <-ms.closed: // the console closes
			cancel()
		case <-ctx.Done():
		}
	}()

	send := func(v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		wctx, wcancel := context.WithTimeout(ctx, tailWriteTimeout)
		defer wcancel()
		return conn.Write(wctx, websocket.MessageText, b)
	}
	fail := func(err error) {
		send(tailNote{Error: err.Error()})
		conn.Close(websocket.StatusPolicyViolation, "")
	}

	cl, err := c.tailConsumer(ctx, s, q)
	if err != nil {
		fail(err)
		return
	}
	defer cl.Close()
	if send(tailNote{Ready: true}) != nil {
		return
	}
	keys := &decoder{c: c, s: s, ctx: ctx, mode: q.Key, pretty: true}
	values := &decoder{c: c, s: s, ctx: ctx, mode: q.Value, pretty: true}
	for {
		fetches := cl.PollRecords(ctx, 5000)
		if ctx.Err() != nil {
			conn.Close(websocket.StatusNormalClosure, "")
			return
		}
		for _, fe := range fetches.Errors() {
			if errors.Is(fe.Err, context.Canceled) || errors.Is(fe.Err, context.DeadlineExceeded) {
				continue
			}
			fail(fe.Err)
			return
		}
		recs := fetches.Records()
		if len(recs) > tailBurst {
			if send(tailNote{Skipped: len(recs) - tailBurst}) != nil {
				return
			}
			recs = recs[len(recs)-tailBurst:]
		}
		for _, rec := range recs {
			if send(row(rec, keys, values)) != nil {
				return
			}
		}
	}
}

// tailConsumer is a consumer of the session's user from the ends of the query's partitions.
func (c *Console) tailConsumer(ctx context.Context, s *Session, q browseQuery) (*kgo.Client, error) {
	rctx, rcancel := context.WithTimeout(ctx, 15*time.Second)
	q.Start = "newest"
	q.Limit = 0
	q.Positions = nil
	ranges, err := c.ranges(rctx, s, q)
	rcancel()
	if err != nil {
		return nil, err
	}
	offsets := make(map[int32]kgo.Offset, len(ranges))
	for p, rg := range ranges {
		offsets[p] = kgo.NewOffset().At(rg.End)
	}
	opts := []kgo.Opt{kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{q.Topic: offsets}),
		kgo.FetchMaxWait(500 * time.Millisecond), kgo.FetchMaxBytes(8 << 20), kgo.MaxConcurrentFetches(2)}
	if q.Committed {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	return c.NewClient(ctx, s, opts...)
}
