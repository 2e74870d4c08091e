package server

import (
	"fmt"
	"time"

	"github.com/sluicehq/sluice/internal/api"
)

// handleFrame parses one request frame, runs its handler and queues the
// response. An error closes the connection.
func (c *conn) handleFrame(frame []byte) error {
	h, body, err := parseRequestHeader(frame)
	if err != nil {
		return err
	}
	a, ok := c.srv.cfg.Lookup(h.key)
	if !ok {
		return fmt.Errorf("%w: api key %d", ErrUnsupportedRequest, h.key)
	}
	if !a.Supports(h.version) {
		if msg, ok := api.UnsupportedVersionResponse(h.key); ok {
			c.enqueue(h.key, h.correlationID, api.Reply(msg))
			return nil
		}
		return fmt.Errorf("%w: %s v%d (serving v%d–v%d)", ErrUnsupportedRequest, a.Name(), h.version, a.MinVersion, a.MaxVersion)
	}
	msg, err := decodeRequest(h.key, h.version, body)
	if err != nil {
		return err
	}
	req := &api.Request{
		Key:           h.key,
		Version:       h.version,
		CorrelationID: h.correlationID,
		ClientID:      h.clientID,
		Conn:          c.info,
		Msg:           msg,
	}
	resp, err := a.Handle(c.workCtx, c.srv.cfg.Env, req)
	if err != nil {
		return fmt.Errorf("%s v%d: %w", a.Name(), h.version, err)
	}
	c.enqueue(h.key, h.correlationID, resp)
	return nil
}

// enqueue hands a response to the write loop, starting Finish if the handler
// returned one. It blocks while MaxInFlight responses are owed, which stops
// the read loop from reading further: backpressure on a client that
// pipelines faster than it is answered.
func (c *conn) enqueue(key int16, correlationID int32, resp api.Response) {
	if resp.Finish == nil && resp.Msg == nil {
		if resp.Release != nil {
			resp.Release()
		}
		return // nothing to send (acks=0)
	}
	f := &inflight{key: key, correlationID: correlationID, done: make(chan struct{})}
	if resp.Finish != nil {
		c.finishWG.Add(1)
		go func() {
			defer c.finishWG.Done()
			defer close(f.done)
			f.resp, f.err = resp.Finish(c.workCtx)
		}()
	} else {
		f.resp = resp
		close(f.done)
	}
	c.inFlight.Add(1)
	c.queue <- f // the write loop drains the queue until it is closed, even after abort
}

// writeLoop writes responses in request order until the queue is closed.
// After an abort it still waits for each pending response so Release runs
// exactly once, but writes nothing.
func (c *conn) writeLoop() {
	fw := frameWriter{w: c.nc}
	for f := range c.queue {
		<-f.done
		if err := c.write(&fw, f); err != nil {
			c.logger.Debug("write failed; closing connection", "err", err)
			c.abort()
		}
		if f.resp.Release != nil {
			f.resp.Release()
		}
		c.inFlight.Add(-1)
		c.touch()
	}
}

func (c *conn) write(fw *frameWriter, f *inflight) error {
	if f.err != nil {
		if !c.isAborted() {
			c.logger.Warn("request failed; closing connection", "key", f.key, "err", f.err)
		}
		return f.err
	}
	if f.resp.Msg == nil || c.isAborted() {
		return nil
	}
	if idle := c.srv.cfg.IdleTimeout; idle > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(idle))
	}
	if len(f.resp.Splices) > 0 {
		// Cork so the header bytes, prefixes and sendfile'd records leave in
		// full segments rather than one small packet per part.
		setCork(c.nc, true)
		defer setCork(c.nc, false)
	}
	return fw.writeResponse(f.key, f.correlationID, f.resp)
}
