// Package syslog is the log-ingest source: a syslog receiver over UDP and TCP (RFC 5424 and
// RFC 3164 messages; TCP with octet counting or newline framing, as rsyslog and syslog-ng send)
// that writes each message to a topic as a struct of its fields (JSON with the JsonConverter).
// It registers as Confluent's SyslogSourceConnector class name and takes its syslog.*
// settings; it listens on loopback unless syslog.listen.address says otherwise.
package syslog

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/internal/connect"
	"github.com/sluicehq/sluice/internal/connect/data"
)

// Class is Confluent's syslog source class name.
const Class = "io.confluent.connect.syslog.SyslogSourceConnector"

const version = "1.5.0.sluice"

func init() {
	connect.RegisterPlugin(&connect.Plugin{Class: Class, Aliases: []string{"SyslogSourceConnector"}, Kind: connect.Source, Version: version,
		New: func() connect.Connector {
			return &connect.BasicConnector{Ver: version, Keys: configKeys(), OneTask: true}
		},
		NewSourceTask: func() connect.SourceTask { return &task{} }})
}

func configKeys() []connect.ConfigKey {
	g := "Syslog"
	return []connect.ConfigKey{
		{Name: "syslog.port", Type: "INT", Importance: "HIGH", Group: g, Required: true, Documentation: "The port to listen on.",
			Validate: func(v string) error {
				if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 65535 {
					return fmt.Errorf("Invalid value %s for configuration syslog.port: not a port", v)
				}
				return nil
			}},
		{Name: "syslog.listener", Type: "STRING", Default: connect.Str("UDP"), Importance: "HIGH", Group: g, Documentation: "UDP or TCP.",
			Validate: func(v string) error {
				if !strings.EqualFold(v, "UDP") && !strings.EqualFold(v, "TCP") {
					return fmt.Errorf("Invalid value %s for configuration syslog.listener: UDP or TCP", v)
				}
				return nil
			}},
		{Name: "syslog.listen.address", Type: "STRING", Default: connect.Str("127.0.0.1"), Importance: "MEDIUM", Group: g, Documentation: "The address to listen on (loopback by default)."},
		{Name: "kafka.topic", Type: "STRING", Default: connect.Str("syslog"), Importance: "HIGH", Group: g, Documentation: "The topic to write messages to."},
		{Name: "syslog.queue.size", Type: "INT", Default: connect.Str("10000"), Importance: "LOW", Group: g, Documentation: "Messages received and not yet polled; TCP reads wait when it is full, UDP messages are dropped (counted in the task's log)."},
	}
}

var structuredSchema = data.MapOf(data.StringSchema, data.MapOf(data.StringSchema, data.StringSchema)).AsOptional()

// messageSchema is the value schema of a message.
var messageSchema = data.MustStruct("io.sluice.connect.syslog.Message",
	data.F("facility", data.Int32Schema), data.F("severity", data.Int32Schema), data.F("level", data.StringSchema),
	data.F("version", data.Int32Schema), data.F("timestamp", data.TimestampSchema.AsOptional()),
	data.F("host", data.OptionalStringSchema), data.F("app_name", data.OptionalStringSchema),
	data.F("proc_id", data.OptionalStringSchema), data.F("msg_id", data.OptionalStringSchema),
	data.F("structured_data", structuredSchema), data.F("message", data.StringSchema),
	data.F("remote_address", data.StringSchema), data.F("raw", data.StringSchema))

type received struct {
	msg    Message
	remote string
}

type task struct {
	topic   string
	queue   chan received
	ln      net.Listener
	pc      net.PacketConn
	wg      sync.WaitGroup
	done    chan struct{}
	dropped atomic.Int64
	bad     atomic.Int64
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
}

func (t *task) Start(_ connect.SourceTaskContext, cfg map[string]string) error {
	t.topic = cfg["kafka.topic"]
	if t.topic == "" {
		t.topic = "syslog"
	}
	size, _ := strconv.Atoi(cfg["syslog.queue.size"])
	if size <= 0 {
		size = 10000
	}
	t.queue, t.done, t.conns = make(chan received, size), make(chan struct{}), map[net.Conn]struct{}{}
	host := cfg["syslog.listen.address"]
	if host == "" {
		host = "127.0.0.1"
	}
	addr := net.JoinHostPort(host, cfg["syslog.port"])
	var err error
	if strings.EqualFold(cfg["syslog.listener"], "TCP") {
		if t.ln, err = net.Listen("tcp", addr); err != nil {
			return err
		}
		t.wg.Add(1)
		go t.acceptLoop()
	} else {
		if t.pc, err = net.ListenPacket("udp", addr); err != nil {
			return err
		}
		t.wg.Add(1)
		go t.udpLoop()
	}
	return nil
}

func (t *task) deliver(raw, remote string, block bool) {
	m, err := Parse(raw, time.Now())
	if err != nil {
		t.bad.Add(1)
		m = Message{Raw: raw, Text: strings.TrimRight(raw, "\r\n"), Severity: 5, Facility: 1} // kept: user.notice, as receivers treat it
	}
	r := received{msg: m, remote: remote}
	if block {
		select {
		case t.queue <- r:
		case <-t.done:
		}
		return
	}
	select {
	case t.queue <- r:
	default:
		t.dropped.Add(1)
	}
}

// maxMessage bounds one message (RFC 5425 receivers must take 2048 octets; rsyslog's default
// maximum is 8 KiB); longer ones are cut.
const maxMessage = 64 << 10

func (t *task) udpLoop() {
	defer t.wg.Done()
	buf := make([]byte, maxMessage)
	for {
		n, from, err := t.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		t.deliver(string(buf[:n]), from.String(), false)
	}
}

func (t *task) acceptLoop() {
	defer t.wg.Done()
	for {
		c, err := t.ln.Accept()
		if err != nil {
			return
		}
		t.mu.Lock()
		t.conns[c] = struct{}{}
		t.mu.Unlock()
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			defer func() { t.mu.Lock(); delete(t.conns, c); t.mu.Unlock(); c.Close() }()
			t.readTCP(c)
		}()
	}
}

// readTCP reads octet-counted ("LEN SP MSG") or newline-framed messages.
func (t *task) readTCP(c net.Conn) {
	r := bufio.NewReaderSize(c, 64<<10)
	remote := c.RemoteAddr().String()
	for {
		b, err := r.Peek(1)
		if err != nil {
			return
		}
		if b[0] >= '1' && b[0] <= '9' {
			lenText, err := r.ReadString(' ')
			if err != nil || len(lenText) > 8 {
				return
			}
			n, err := strconv.Atoi(strings.TrimSuffix(lenText, " "))
			if err != nil || n <= 0 || n > maxMessage {
				return // a framing error: the connection cannot be resynchronised
			}
			msg := make([]byte, n)
			if _, err := io.ReadFull(r, msg); err != nil {
				return
			}
			t.deliver(string(msg), remote, true)
			continue
		}
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) { // an over-long line: kept up to maxMessage
				line, err = r.ReadSlice('\n')
				if len(long) < maxMessage {
					long = append(long, line[:min(len(line), maxMessage-len(long))]...)
				}
			}
			line = long
		}
		if len(line) > 0 && strings.TrimSpace(string(line)) != "" {
			t.deliver(string(line), remote, true)
		}
		if err != nil {
			return
		}
	}
}

func (t *task) Poll(ctx context.Context) ([]connect.SourceRecord, error) {
	var recs []connect.SourceRecord
	timer := time.NewTimer(time.Second)
	defer timer.Stop()
	for len(recs) < 1000 {
		var r received
		if len(recs) == 0 {
			select {
			case r = <-t.queue:
			case <-timer.C:
				return nil, nil
			case <-ctx.Done():
				return nil, nil
			}
		} else {
			select {
			case r = <-t.queue:
			default:
				return recs, nil
			}
		}
		recs = append(recs, t.record(r))
	}
	return recs, nil
}

func (t *task) record(r received) connect.SourceRecord {
	m := &r.msg
	v := data.NewStructValue(messageSchema).Set("facility", int32(m.Facility)).Set("severity", int32(m.Severity)).
		Set("level", m.Level()).Set("version", int32(m.Version)).Set("message", m.Text).
		Set("remote_address", r.remote).Set("raw", strings.TrimRight(m.Raw, "\r\n"))
	if !m.Timestamp.IsZero() {
		v.Set("timestamp", m.Timestamp.UTC())
	}
	for name, s := range map[string]string{"host": m.Host, "app_name": m.AppName, "proc_id": m.ProcID, "msg_id": m.MsgID} {
		if s != "" {
			v.Set(name, s)
		}
	}
	if len(m.Structured) > 0 {
		sd := map[any]any{}
		for id, params := range m.Structured {
			p := map[any]any{}
			for k, x := range params {
				p[k] = x
			}
			sd[id] = p
		}
		v.Set("structured_data", sd)
	}
	var key any
	var keySchema *data.Schema
	if m.Host != "" {
		key, keySchema = m.Host, data.OptionalStringSchema
	}
	return connect.SourceRecord{Topic: t.topic, KeySchema: keySchema, Key: key, ValueSchema: messageSchema, Value: v}
}

func (t *task) Commit() error { return nil }

func (t *task) Stop() error {
	close(t.done)
	if t.ln != nil {
		t.ln.Close()
	}
	if t.pc != nil {
		t.pc.Close()
	}
	t.mu.Lock()
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
	return nil
}
