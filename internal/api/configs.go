package api

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/config"
)

// Helpers shared by the admin API files: CreateTopics (config entries of a new topic),
// DescribeConfigs, AlterConfigs and IncrementalAlterConfigs.

// configValue is an entry's value as Kafka sends it: null for sensitive configs and for
// configs with no value.
func configValue(e config.Entry) *string {
	if e.Null || e.Def.Sensitive() {
		return nil
	}
	v := e.Value
	return &v
}

// describeConfigEntry turns a resolved config into a DescribeConfigs entry.
func describeConfigEntry(e config.Entry, readOnly, synonyms, documentation bool) kmsg.DescribeConfigsResponseResourceConfig {
	c := kmsg.NewDescribeConfigsResponseResourceConfig()
	c.Name = string(e.Def.Name)
	c.Value = configValue(e)
	c.ReadOnly = readOnly
	c.Source = kmsg.ConfigSource(e.Source)
	c.IsDefault = e.Source == config.SourceDefault
	c.IsSensitive = e.Def.Sensitive()
	c.ConfigType = kmsg.ConfigType(e.Def.Type)
	if documentation {
		doc := e.Def.Doc
		c.Documentation = &doc
	}
	if synonyms {
		for _, s := range e.Synonyms {
			cs := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
			cs.Name, cs.Source = string(s.Name), kmsg.ConfigSource(s.Source)
			if !e.Def.Sensitive() {
				v := s.Value
				cs.Value = &v
			}
			c.ConfigSynonyms = append(c.ConfigSynonyms, cs)
		}
	}
	return c
}

// withTimeout bounds ctx by a request's TimeoutMillis when it is positive.
func withTimeout(ctx context.Context, timeoutMillis int32) (context.Context, context.CancelFunc) {
	if timeoutMillis <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, time.Duration(timeoutMillis)*time.Millisecond)
}

// requestError is an error a handler finds in the request itself: it carries the Kafka error
// to answer with, and a message (without Kafka's generic description) for the client.
type requestError struct {
	code *kerr.Error
	msg  string
}

func (e *requestError) Error() string { return e.msg }
func (e *requestError) Unwrap() error { return e.code }

func requestErrorf(code *kerr.Error, format string, args ...any) error {
	return &requestError{code: code, msg: fmt.Sprintf(format, args...)}
}
