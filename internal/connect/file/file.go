// Package file is Kafka Connect's file connectors: FileStreamSource reads the lines of a file
// into a topic (the line as a string value; its byte position as the source offset, so a
// restart resumes after the last committed line), FileStreamSink writes each record's value
// as a line.
package file

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/connect"
	"github.com/sluicehq/sluice/internal/connect/data"
)

// Class names, as Kafka's.
const (
	SourceClass = "org.apache.kafka.connect.file.FileStreamSourceConnector"
	SinkClass   = "org.apache.kafka.connect.file.FileStreamSinkConnector"
	version     = "1.0.0"
)

func init() {
	connect.RegisterPlugin(&connect.Plugin{Class: SourceClass, Aliases: []string{"FileStreamSource"}, Kind: connect.Source, Version: version,
		New: func() connect.Connector { return &connector{kind: connect.Source} }, NewSourceTask: func() connect.SourceTask { return &sourceTask{} },
		ExactlyOnce: true}) // it resumes at the committed byte position
	connect.RegisterPlugin(&connect.Plugin{Class: SinkClass, Aliases: []string{"FileStreamSink"}, Kind: connect.Sink, Version: version,
		New: func() connect.Connector { return &connector{kind: connect.Sink} }, NewSinkTask: func() connect.SinkTask { return &sinkTask{} }})
}

// connector is both connectors: one task, the configuration passed through.
type connector struct {
	kind connect.Kind
	cfg  map[string]string
}

func (c *connector) Version() string { return version }

func (c *connector) Config() []connect.ConfigKey {
	keys := []connect.ConfigKey{{Name: "file", Type: "STRING", Importance: "HIGH", Group: "File",
		Documentation: "The file to read (source) or write (sink).", Required: true}}
	if c.kind == connect.Source {
		keys = append(keys,
			connect.ConfigKey{Name: "topic", Type: "LIST", Importance: "HIGH", Group: "File", Required: true,
				Documentation: "The topic to publish data to.", Validate: func(v string) error {
					if strings.Contains(v, ",") || strings.TrimSpace(v) == "" {
						return errors.New("'topic' in FileStreamSourceConnector configuration requires definition of a single topic.")
					}
					return nil
				}},
			connect.ConfigKey{Name: "batch.size", Type: "INT", Default: connect.Str("2000"), Importance: "LOW", Group: "File",
				Documentation: "The maximum number of records the source task can read from the file each time it is polled.",
				Validate: func(v string) error {
					if n, err := strconv.Atoi(v); err != nil || n < 1 {
						return fmt.Errorf("Invalid value %s for configuration batch.size: Value must be at least 1", v)
					}
					return nil
				}})
	}
	return keys
}

func (c *connector) Start(_ connect.ConnectorContext, cfg map[string]string) error {
	c.cfg = cfg
	return nil
}

func (c *connector) TaskConfigs(int) ([]map[string]string, error) {
	tc := map[string]string{"file": c.cfg["file"]}
	if c.kind == connect.Source {
		tc["topic"], tc["batch.size"] = strings.TrimSpace(c.cfg["topic"]), c.cfg["batch.size"]
	}
	return []map[string]string{tc}, nil
}

func (c *connector) Stop() error { return nil }

type sourceTask struct {
	path      string
	topic     string
	batch     int
	f         *os.File
	r         *bufio.Reader
	pos       int64 // byte position after the last line returned
	partition map[string]any
}

func (t *sourceTask) Start(ctx connect.SourceTaskContext, cfg map[string]string) error {
	t.path, t.topic = cfg["file"], cfg["topic"]
	t.batch = 2000
	if n, err := strconv.Atoi(cfg["batch.size"]); err == nil && n > 0 {
		t.batch = n
	}
	t.partition = map[string]any{"filename": t.path}
	off, err := ctx.Offsets().Offset(t.partition)
	if err != nil {
		return err
	}
	if p, ok := off["position"].(float64); ok {
		t.pos = int64(p)
	}
	return nil
}

// open opens the file (it may appear later) at the committed position.
func (t *sourceTask) open() error {
	f, err := os.Open(t.path)
	if err != nil {
		return err
	}
	if _, err := f.Seek(t.pos, io.SeekStart); err != nil {
		f.Close()
		return err
	}
	t.f, t.r = f, bufio.NewReaderSize(f, 64<<10)
	return nil
}

// maxLine bounds one line; a longer one is an error rather than unbounded memory.
const maxLine = 8 << 20

func (t *sourceTask) Poll(ctx context.Context) ([]connect.SourceRecord, error) {
	if t.f == nil {
		if err := t.open(); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, sleep(ctx, time.Second)
			}
			return nil, err
		}
	}
	var recs []connect.SourceRecord
	var line []byte
	for len(recs) < t.batch {
		chunk, err := t.r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxLine {
			return nil, fmt.Errorf("a line of %s longer than %d bytes", t.path, maxLine)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			// A partial line stays for the next poll: seek back to its start.
			if len(line) > 0 {
				if _, serr := t.f.Seek(t.pos, io.SeekStart); serr != nil {
					return nil, serr
				}
				t.r.Reset(t.f)
			}
			break
		}
		if err != nil {
			return nil, err
		}
		t.pos += int64(len(line))
		text := string(bytes.TrimRight(line, "\r\n"))
		line = line[:0]
		recs = append(recs, connect.SourceRecord{
			SourcePartition: t.partition, SourceOffset: map[string]any{"position": float64(t.pos)},
			Topic: t.topic, ValueSchema: data.StringSchema, Value: text,
		})
	}
	if len(recs) == 0 {
		return nil, sleep(ctx, time.Second)
	}
	return recs, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func (t *sourceTask) Commit() error { return nil }

func (t *sourceTask) Stop() error {
	if t.f != nil {
		return t.f.Close()
	}
	return nil
}

type sinkTask struct {
	mu sync.Mutex
	f  *os.File
	w  *bufio.Writer
}

func (t *sinkTask) Start(_ connect.SinkTaskContext, cfg map[string]string) error {
	f, err := os.OpenFile(cfg["file"], os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	t.f, t.w = f, bufio.NewWriter(f)
	return nil
}

func (t *sinkTask) Put(recs []connect.SinkRecord) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range recs {
		switch v := r.Value.(type) {
		case nil:
			t.w.WriteString("null")
		case string:
			t.w.WriteString(v)
		case []byte:
			t.w.Write(v)
		default:
			fmt.Fprint(t.w, v)
		}
		if err := t.w.WriteByte('\n'); err != nil {
			return err
		}
	}
	return nil
}

func (t *sinkTask) Flush(map[connect.TopicPartition]int64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.w.Flush(); err != nil {
		return err
	}
	return t.f.Sync()
}

func (t *sinkTask) Stop() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.w.Flush()
	return t.f.Close()
}
