package config

import (
	"errors"
	"testing"
	"time"
)

func TestValidateGroup(t *testing.T) {
	broker := ResolveBroker(Layers{Static: map[string]string{string(GroupShareMinSessionTimeoutMs): "10000"}})
	ok := map[string]string{"share.session.timeout.ms": " 20000", "share.heartbeat.interval.ms": "5000",
		"share.auto.offset.reset": "by_duration:P1DT2H", "share.isolation.level": "read_committed", "consumer.session.timeout.ms": "50000"}
	got, err := ValidateGroup(ok, broker)
	if err != nil || got["share.session.timeout.ms"] != "20000" {
		t.Fatalf("valid group configs: %v %v", got, err)
	}
	for name, kv := range map[string]map[string]string{
		"unknown name":                 {"share.nope": "1"},
		"not a number":                 {"share.session.timeout.ms": "soon"},
		"below the broker minimum":     {"share.session.timeout.ms": "9999"},
		"above the broker maximum":     {"share.session.timeout.ms": "60001"},
		"heartbeat above its maximum":  {"share.heartbeat.interval.ms": "15001"},
		"session not above heartbeat":  {"share.session.timeout.ms": "10000", "share.heartbeat.interval.ms": "10000"},
		"consumer session too small":   {"consumer.session.timeout.ms": "44999"},
		"record lock below minimum":    {"share.record.lock.duration.ms": "14999"},
		"bad auto offset reset":        {"share.auto.offset.reset": "newest"},
		"negative duration":            {"share.auto.offset.reset": "by_duration:-PT1H"},
		"bad isolation level":          {"share.isolation.level": "serializable"},
		"delivery count limit too big": {"share.delivery.count.limit": "11"},
	} {
		if _, err := ValidateGroup(kv, broker); !errors.Is(err, ErrInvalidValue) && !errors.Is(err, ErrUnknownConfig) {
			t.Errorf("%s: %v, want a validation error", name, err)
		}
	}
}

func TestResolveGroupSources(t *testing.T) {
	r := ResolveGroup(Layers{Topic: map[string]string{"share.session.timeout.ms": "50000"},
		Static: map[string]string{string(GroupShareHeartbeatIntervalMs): "6000"}})
	for name, want := range map[Name]struct {
		v string
		s Source
	}{
		GroupConfigShareSessionTimeoutMs:    {"50000", SourceGroup},
		GroupConfigShareHeartbeatIntervalMs: {"6000", SourceStaticBroker},
		GroupConfigShareAutoOffsetReset:     {"latest", SourceDefault},
		GroupConfigShareIsolationLevel:      {"read_uncommitted", SourceDefault},
	} {
		e, ok := r.Entry(name)
		if !ok || e.Value != want.v || e.Source != want.s {
			t.Errorf("%s: %+v, want %s from %s", name, e, want.v, want.s)
		}
	}
}

func TestParseISODuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"PT1H": time.Hour, "P1D": 24 * time.Hour, "P1DT2H3M4.5S": 26*time.Hour + 3*time.Minute + 4500*time.Millisecond,
		"PT0.001S": time.Millisecond, "pt15m": 15 * time.Minute,
	} {
		if got, err := ParseISODuration(in); err != nil || got != want {
			t.Errorf("%s: %v %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "P", "PT", "1H", "P1H", "PT1D", "PT1.5H", "-PT1H", "PT1H1", "P1DT", "PT.5S", "PTS"} {
		if _, err := ParseISODuration(in); err == nil {
			t.Errorf("%q parsed", in)
		}
	}
}
