package registry

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
)

// forwardedHeader marks a request one node forwarded to the writer: a node that is not the
// writer either answers it 50003 instead of forwarding it again (two nodes that each believe
// the other writes must not bounce a request between them).
const forwardedHeader = "X-Sluice-Registry-Forwarded"

// maxForwardedAnswer bounds the writer's answer copied back to the caller.
const maxForwardedAnswer = 64 << 20

// forwarded forwards the request to the writer when err is ErrNotWriter (as Confluent does: the
// same method, path, query and body, the caller's Authorization kept) and reports whether it
// did, having answered the caller.
func (h *handler) forwarded(c *call, err error) bool {
	if !errors.Is(err, ErrNotWriter) {
		return false
	}
	writer, self, ok := h.s.log.Writer()
	switch {
	case !ok:
		c.fail(Errorf(50004, "Unknown leader: no node is writing %s right now", TopicName))
		return true
	case self || c.r.Header.Get(forwardedHeader) != "":
		c.fail(Errorf(50003, "Error while forwarding the request to the leader: the writer of %s is changing", TopicName))
		return true
	}
	target := strings.TrimRight(writer, "/") + c.r.URL.RequestURI()
	req, rerr := http.NewRequestWithContext(c.r.Context(), c.r.Method, target, bytes.NewReader(c.body))
	if rerr != nil {
		c.fail(Errorf(50003, "Error while forwarding the request to the leader: %v", rerr))
		return true
	}
	for _, name := range []string{"Content-Type", "Accept", "Authorization"} {
		if v := c.r.Header.Values(name); len(v) > 0 {
			req.Header[name] = v
		}
	}
	req.Header.Set(forwardedHeader, "1")
	h.s.metrics.forward()
	resp, rerr := h.s.client.Do(req)
	if rerr != nil {
		c.fail(Errorf(50003, "Error while forwarding the request to the leader: %v", rerr))
		return true
	}
	defer resp.Body.Close()
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxForwardedAnswer))
	if rerr != nil {
		c.fail(Errorf(50003, "Error while forwarding the request to the leader: %v", rerr))
		return true
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		c.w.Header().Set("Content-Type", ct)
	}
	if v := resp.Header.Values("WWW-Authenticate"); len(v) > 0 {
		c.w.Header()["WWW-Authenticate"] = v
	}
	c.w.WriteHeader(resp.StatusCode)
	c.status = resp.StatusCode
	_, _ = c.w.Write(body)
	return true
}
