package server

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/sluicehq/sluice/internal/api"
)

// handleFrame parses one request frame, runs its handler and queues the
// response. An error closes the connection. The frame is recycled after
// the response is written (the decoded request's byte slices point into it).
func (c *conn) handleFrame(frame []byte) error {
	start := time.Now()
	if c.sasl != nil && c.sasl.state == saslRawToken {
		return c.saslRawToken(frame)
	}
	h, body, err := parseRequestHeader(frame)
	if err != nil {
		c.releaseFrame(frame, true)
		return err
	}
	if c.sasl != nil {
		if handled, err := c.saslGate(h, body, frame, start); handled {
			return err
		}
	}
	a, ok := c.srv.cfg.Lookup(h.key)
	if !ok {
		c.releaseFrame(frame, true)
		return fmt.Errorf("%w: api key %d", ErrUnsupportedRequest, h.key)
	}
	if !a.Supports(h.version) {
		if msg, ok := api.UnsupportedVersionResponse(h.key); ok {
			c.enqueue(h, start, api.Reply(msg), frame)
			return nil
		}
		c.releaseFrame(frame, true)
		return fmt.Errorf("%w: %s v%d (serving v%d–v%d)", ErrUnsupportedRequest, a.Name(), h.version, a.MinVersion, a.MaxVersion)
	}
	msg, err := decodeRequest(h.key, h.version, body)
	if err != nil {
		if errors.Is(err, errDecodePanic) {
			c.srv.panicked("decode")
		}
		c.releaseFrame(frame, true)
		return err
	}
	req := &api.Request{
		Key:           h.key,
		Version:       h.version,
		CorrelationID: h.correlationID,
		ClientID:      h.clientID,
		Conn:          c.info,
		Msg:           msg,
		Size:          len(frame),
	}
	resp, err := runHandler(c.workCtx, a, c.srv.cfg.Env, req)
	if err != nil {
		if errors.Is(err, ErrHandlerPanic) {
			c.srv.panicked("handler")
		}
		c.releaseFrame(frame, false) // a failed handler may still hold it
		return fmt.Errorf("%s v%d: %w", a.Name(), h.version, err)
	}
	resp = c.recordRequestTime(req, resp, time.Since(start))
	c.enqueue(h, start, resp, frame)
	return nil
}

// ErrHandlerPanic is returned when a handler panicked. Kafka answers an
// unexpected handler failure without taking the broker down; so does
// Sluice: the panic is logged with its stack and costs that connection.
var ErrHandlerPanic = errors.New("server: handler panicked")

// runHandler calls a's handler, turning a panic into ErrHandlerPanic.
func runHandler(ctx context.Context, a api.API, env *api.Env, req *api.Request) (resp api.Response, err error) {
	defer func() {
		if p := recover(); p != nil {
			resp, err = api.Response{}, fmt.Errorf("%w: %s v%d: %v\n%s", ErrHandlerPanic, a.Name(), req.Version, p, debug.Stack())
		}
	}()
	return a.Handle(ctx, env, req)
}

// runFinish calls a handler's Finish, turning a panic into ErrHandlerPanic.
func runFinish(ctx context.Context, key int16, finish func(context.Context) (api.Response, error)) (resp api.Response, err error) {
	defer func() {
		if p := recover(); p != nil {
			resp, err = api.Response{}, fmt.Errorf("%w: finishing key %d: %v\n%s", ErrHandlerPanic, key, p, debug.Stack())
		}
	}()
	return finish(ctx)
}

// enqueue hands a response to the write loop, starting Finish if the handler
// returned one. It blocks while MaxInFlight responses are owed, which stops
// the read loop from reading further: backpressure on a client that
// pipelines faster than it is answered.
func (c *conn) enqueue(h requestHeader, start time.Time, resp api.Response, frame []byte) {
	key, correlationID := h.key, h.correlationID
	if resp.Finish == nil && resp.Msg == nil {
		if obs := c.srv.cfg.Observer; obs != nil {
			obs.ObserveRequest(key, h.version, time.Since(start), nil)
		}
		if resp.Release != nil {
			resp.Release()
		}
		c.releaseFrame(frame, true)
		c.muteFor(resp.Throttle)
		return // nothing to send (acks=0)
	}
	f := &inflight{key: key, version: h.version, start: start, correlationID: correlationID, frame: frame, done: make(chan struct{})}
	if resp.Finish != nil {
		c.finishWG.Add(1)
		go func() {
			defer c.finishWG.Done()
			defer close(f.done)
			f.resp, f.err = runFinish(c.workCtx, key, resp.Finish)
			if errors.Is(f.err, ErrHandlerPanic) {
				c.srv.panicked("finish")
			}
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
	w, flush := c.responseWriter()
	fw := frameWriter{w: w}
	for f := range c.queue {
		<-f.done
		if obs := c.srv.cfg.Observer; obs != nil && f.err == nil && f.key != rawTokenKey {
			obs.ObserveRequest(f.key, f.version, time.Since(f.start), f.resp.Msg)
		}
		c.holdThrottled(f)
		// Mute before the write as well as after it: once the response is out, the client may
		// send its next request before this goroutine runs again, and the read loop must
		// already see the mute then. The second call counts the throttle from the write's end.
		c.muteThrottled(f)
		err := c.write(&fw, f)
		if err == nil && flush != nil {
			err = flush()
		}
		if err != nil {
			c.logger.Debug("write failed; closing connection", "err", err)
			c.abort()
		}
		c.muteThrottled(f)
		if f.resp.Release != nil {
			f.resp.Release()
		}
		c.releaseFrame(f.frame, f.err == nil) // a failed Finish may still hold it
		c.inFlight.Add(-1)
		c.touch()
	}
}

func (c *conn) write(fw *frameWriter, f *inflight) error {
	if f.err != nil {
		switch {
		case errors.Is(f.err, ErrHandlerPanic):
			c.logger.Error("request failed; closing connection", "key", f.key, "err", f.err)
		case !c.isAborted():
			c.logger.Warn("request failed; closing connection", "key", f.key, "err", f.err)
		}
		return f.err
	}
	if f.key == rawTokenKey && !c.isAborted() {
		return fw.writeRawToken(f.rawToken)
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
