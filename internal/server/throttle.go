package server

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/api"
)

// Client quota throttling (KIP-219). A handler that finds its client over a quota sets the
// response's throttle_time_ms (or api.Response.Throttle); once that response is written the
// connection is muted: the read loop handles no further request of it until the throttle time
// has passed. Responses of versions older than KIP-219's (kmsg's Throttle reports they are not
// throttled after the response) are instead held back for the throttle time before they are
// written, as Kafka delays them for clients that do not back off by themselves.

// responseThrottle is the throttle a response carries and whether the client applies it
// after the response (KIP-219 versions).
func responseThrottle(resp api.Response) (time.Duration, bool) {
	d, after := resp.Throttle, true
	if tr, ok := resp.Msg.(kmsg.ThrottleResponse); ok {
		ms, afterResponse := tr.Throttle()
		if m := time.Duration(ms) * time.Millisecond; m > d {
			d, after = m, afterResponse
		}
	}
	return d, after
}

// muteFor mutes the connection until d from now, unless it is muted longer already.
func (c *conn) muteFor(d time.Duration) {
	if d <= 0 {
		return
	}
	until := time.Now().Add(d).UnixNano()
	for {
		old := c.mutedUntil.Load()
		if until <= old || c.mutedUntil.CompareAndSwap(old, until) {
			return
		}
	}
}

// holdThrottled delays a pre-KIP-219 response by its throttle time (the write loop's goroutine).
// It first puts a throttle given as api.Response.Throttle into the response's throttle_time_ms.
func (c *conn) holdThrottled(f *inflight) {
	if f.err != nil {
		return
	}
	if st, ok := f.resp.Msg.(kmsg.SetThrottleResponse); ok && f.resp.Throttle > 0 {
		if ms, _ := f.resp.Msg.(kmsg.ThrottleResponse).Throttle(); time.Duration(ms)*time.Millisecond < f.resp.Throttle {
			st.SetThrottle(int32(min(f.resp.Throttle.Milliseconds(), 1<<31-1)))
		}
	}
	if d, after := responseThrottle(f.resp); d > 0 && !after {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-c.aborted:
		case <-c.workCtx.Done():
		}
	}
}

// muteThrottled mutes the connection after a response that carries a throttle time.
func (c *conn) muteThrottled(f *inflight) {
	if f.err == nil {
		d, _ := responseThrottle(f.resp)
		c.muteFor(d)
	}
}

// waitMuted holds the read loop while the connection is muted; it returns errDraining when the
// connection drains meanwhile, nil otherwise (an abort is noticed by the next read).
func (c *conn) waitMuted() error {
	for {
		wait := time.Until(time.Unix(0, c.mutedUntil.Load()))
		if wait <= 0 {
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
			c.touch() // muted time is not idle time
		case <-c.aborted:
			t.Stop()
			return nil
		case <-c.workCtx.Done():
			t.Stop()
			if c.draining.Load() {
				return errDraining
			}
			return nil
		}
	}
}

// requestQuotaExempt reports the requests request_percentage does not count: those a client
// must be able to send to learn versions and authenticate, and the cluster's own traffic
// (Kafka exempts ClusterAction requests): everything on the controller listener, and replica
// fetches.
func (c *conn) requestQuotaExempt(req *api.Request) bool {
	switch req.Key {
	case 17, 18, 36: // SaslHandshake, ApiVersions, SaslAuthenticate
		return true
	case 1:
		if f, ok := req.Msg.(*kmsg.FetchRequest); ok && (f.ReplicaID >= 0 || f.ReplicaState.ID >= 0) {
			return true
		}
	}
	return api.ListenerKind(c.srv.cfg.ListenerName) == api.ControllerListener
}

// recordRequestTime accounts the time a request spent in its handler (from its frame being
// read until the handler returned; a Finish's waiting is not handler time) to the client's
// request_percentage, and adds the throttle it earns to the response.
func (c *conn) recordRequestTime(req *api.Request, resp api.Response, handler time.Duration) api.Response {
	env := c.srv.cfg.Env
	if env.Quotas == nil || env.Metadata == nil || c.requestQuotaExempt(req) {
		return resp
	}
	d := env.Quotas.RecordRequestTime(api.QuotaClient(req, env.Metadata.Image()), handler)
	if d <= 0 {
		return resp
	}
	if finish := resp.Finish; finish != nil {
		resp.Finish = func(ctx context.Context) (api.Response, error) {
			r, err := finish(ctx)
			r.Throttle = max(r.Throttle, d)
			return r, err
		}
	}
	resp.Throttle = max(resp.Throttle, d)
	return resp
}
