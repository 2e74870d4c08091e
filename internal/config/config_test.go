package config

import (
	"errors"
	"strings"
	"testing"
)

// TestTableInvariants holds the table to the rules resolution relies on.
func TestTableInvariants(t *testing.T) {
	for _, d := range append(TopicDefs(), BrokerDefs()...) {
		if d.Doc == "" {
			t.Errorf("%s: no documentation", d.Name)
		}
		if d.NoDefault {
			if d.scope == scopeTopic {
				t.Errorf("%s: topic configs must have a default", d.Name)
			}
			continue
		}
		got, err := d.Normalize(d.Default)
		if err != nil {
			t.Errorf("%s: default does not validate: %v", d.Name, err)
			continue
		}
		if got != d.Default {
			t.Errorf("%s: default %q is not canonical (%q)", d.Name, d.Default, got)
		}
	}
	for _, d := range TopicDefs() {
		if d.Mode != ModeTopic {
			t.Errorf("%s: topic config with broker mode %s", d.Name, d.Mode)
		}
		checkedDefault := false
		for i, syn := range d.Synonyms {
			bd, ok := Broker(string(syn.Name))
			if !ok {
				t.Errorf("%s: synonym %s is not a broker config", d.Name, syn.Name)
				continue
			}
			if !compatible(d.Type, bd.Type) {
				t.Errorf("%s (%s): synonym %s has type %s", d.Name, d.Type, syn.Name, bd.Type)
			}
			wantMode := ModeClusterWide
			if i > 0 {
				wantMode = ModeReadOnly
			}
			if bd.Mode != wantMode {
				t.Errorf("%s: synonym %s mode %s, want %s (Kafka makes only the first synonym dynamic)", d.Name, syn.Name, bd.Mode, wantMode)
			}
			if !checkedDefault && !bd.NoDefault {
				checkedDefault = true
				v := convert(mustParseDefault(bd), syn.Convert)
				if got := v.canonical(d.Type); got != d.Default {
					t.Errorf("%s: default %s, but synonym %s defaults to %s (= %s)", d.Name, d.Default, syn.Name, bd.Default, got)
				}
			}
		}
		if len(d.Synonyms) > 0 && !checkedDefault {
			t.Errorf("%s: no synonym has a default", d.Name)
		}
	}
}

func compatible(topic, broker Type) bool {
	if topic == broker {
		return true
	}
	return topic == TypeLong && (broker == TypeInt || broker == TypeShort)
}

// TestKafkaDefaults pins the values operators know from Kafka.
func TestKafkaDefaults(t *testing.T) {
	cases := []struct {
		name, want string
		topic      bool
	}{
		{string(CleanupPolicy), "delete", true},
		{string(CompressionType), "producer", true},
		{string(RetentionMs), "604800000", true},
		{string(RetentionBytes), "-1", true},
		{string(SegmentBytes), "1073741824", true},
		{string(SegmentMs), "604800000", true},
		{string(MaxMessageBytes), "1048588", true},
		{string(MinInsyncReplicas), "1", true},
		{string(MessageTimestampType), "CreateTime", true},
		{string(MessageTimestampAfterMaxMs), "3600000", true},
		{string(SegmentIndexBytes), "10485760", true},
		{string(IndexIntervalBytes), "4096", true},
		{string(NumPartitions), "1", false},
		{string(DefaultReplicationFactor), "1", false},
		{string(AutoCreateTopicsEnable), "true", false},
		{string(SocketRequestMaxBytes), "104857600", false},
		{string(ConnectionsMaxIdleMs), "600000", false},
		{string(OffsetsTopicNumPartitions), "50", false},
		{string(OffsetsRetentionMinutes), "10080", false},
		{"log.retention.hours", "168", false},
		{string(SluiceGroupCommit), "false", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lookup := Broker
			if c.topic {
				lookup = Topic
			}
			d, ok := lookup(c.name)
			if !ok {
				t.Fatalf("%s not defined", c.name)
			}
			if d.Default != c.want {
				t.Errorf("default %q, want %q", d.Default, c.want)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	cases := []struct {
		name, config, in, want string
		wantErr                bool
	}{
		{"long", string(RetentionMs), " 3600000 ", "3600000", false},
		{"long minus one", string(RetentionMs), "-1", "-1", false},
		{"long below range", string(RetentionMs), "-2", "", true},
		{"long not a number", string(RetentionMs), "1h", "", true},
		{"int overflow", string(SegmentBytes), "4294967296", "", true},
		{"int below minimum", string(SegmentBytes), "1024", "", true},
		{"bool upper case", string(Preallocate), "TRUE", "true", false},
		{"bool garbage", string(Preallocate), "yes", "", true},
		{"double", string(MinCleanableDirtyRatio), "0.25", "0.25", false},
		{"double above range", string(MinCleanableDirtyRatio), "1.5", "", true},
		{"double NaN", string(MinCleanableDirtyRatio), "NaN", "", true},
		{"list spaces", string(CleanupPolicy), "compact, delete", "compact,delete", false},
		{"list bad element", string(CleanupPolicy), "compact,archive", "", true},
		{"list duplicate", string(CleanupPolicy), "delete,delete", "", true},
		{"list empty", string(CleanupPolicy), "", "", true},
		{"enum", string(CompressionType), "zstd", "zstd", false},
		{"enum case-sensitive", string(CompressionType), "ZSTD", "", true},
		{"enum unknown", string(CompressionType), "brotli", "", true},
		{"timestamp type", string(MessageTimestampType), "LogAppendTime", "LogAppendTime", false},
		{"gzip level default", string(CompressionGzipLevel), "-1", "-1", false},
		{"gzip level", string(CompressionGzipLevel), "9", "9", false},
		{"gzip level zero", string(CompressionGzipLevel), "0", "", true},
		{"zstd negative level", string(CompressionZstdLevel), "-5", "-5", false},
		{"throttled star", string(LeaderReplicationThrottledReplicas), "*", "*", false},
		{"throttled pairs", string(LeaderReplicationThrottledReplicas), "0:1, 1:2", "0:1,1:2", false},
		{"throttled bad", string(LeaderReplicationThrottledReplicas), "0-1", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, ok := Topic(c.config)
			if !ok {
				t.Fatalf("no topic config %s", c.config)
			}
			got, err := d.Normalize(c.in)
			if c.wantErr {
				if !errors.Is(err, ErrInvalidValue) {
					t.Fatalf("Normalize(%q) = %q, %v; want ErrInvalidValue", c.in, got, err)
				}
				if !strings.Contains(err.Error(), c.config) || !strings.Contains(err.Error(), c.in) {
					t.Errorf("error %q does not name key %s and value %q", err, c.config, c.in)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("Normalize(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
		})
	}
}

func TestValidateTopic(t *testing.T) {
	cases := []struct {
		name    string
		in      map[string]string
		want    map[string]string
		wantErr error
		mention []string
	}{
		{name: "empty", in: nil, want: map[string]string{}},
		{name: "canonical", in: map[string]string{string(RetentionMs): " 1000", string(CleanupPolicy): "compact , delete"},
			want: map[string]string{string(RetentionMs): "1000", string(CleanupPolicy): "compact,delete"}},
		{name: "unknown key", in: map[string]string{"retention.msec": "1"}, wantErr: ErrUnknownConfig,
			mention: []string{"retention.msec"}},
		{name: "broker name is not a topic config", in: map[string]string{"log.retention.ms": "1"}, wantErr: ErrUnknownConfig,
			mention: []string{"log.retention.ms"}},
		{name: "bad value", in: map[string]string{string(SegmentMs): "0"}, wantErr: ErrInvalidValue,
			mention: []string{string(SegmentMs), `"0"`}},
		{name: "compaction lags crossed", in: map[string]string{string(MinCompactionLagMs): "10", string(MaxCompactionLagMs): "5"},
			wantErr: ErrInvalidValue, mention: []string{string(MinCompactionLagMs), string(MaxCompactionLagMs)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ValidateTopic(c.in)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err = %v, want %v", err, c.wantErr)
				}
				for _, m := range c.mention {
					if !strings.Contains(err.Error(), m) {
						t.Errorf("error %q does not mention %s", err, m)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestValidateBroker(t *testing.T) {
	cases := []struct {
		name      string
		in        map[string]string
		perBroker bool
		static    bool
		wantErr   error
	}{
		{name: "dynamic cluster-wide", in: map[string]string{"log.retention.ms": "1000", string(MessageMaxBytes): "2000000"}},
		{name: "dynamic per broker", in: map[string]string{"log.retention.ms": "1000"}, perBroker: true},
		{name: "read-only", in: map[string]string{string(NumPartitions): "3"}, wantErr: ErrReadOnly},
		{name: "fallback synonym is read-only", in: map[string]string{"log.retention.hours": "3"}, wantErr: ErrReadOnly},
		{name: "unknown", in: map[string]string{"log.retention.days": "3"}, wantErr: ErrUnknownConfig},
		{name: "topic name is not a broker config", in: map[string]string{string(RetentionMs): "3"}, wantErr: ErrUnknownConfig},
		{name: "bad value", in: map[string]string{string(MessageMaxBytes): "-3"}, wantErr: ErrInvalidValue},
		{name: "static read-only", in: map[string]string{string(NumPartitions): "3", string(NodeID): "2"}, static: true},
		{name: "static voters", in: map[string]string{string(ControllerQuorumVoters): "1@localhost:9093,2@[::1]:9094"}, static: true},
		{name: "static bad voter", in: map[string]string{string(ControllerQuorumVoters): "1@localhost"}, static: true, wantErr: ErrInvalidValue},
		{name: "static broker.id differs", in: map[string]string{string(NodeID): "2", string(BrokerID): "3"}, static: true, wantErr: ErrInvalidValue},
		{name: "static two dirs", in: map[string]string{string(LogDirs): "/a,/b"}, static: true, wantErr: ErrInvalidValue},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			if c.static {
				_, err = ValidateBrokerStatic(c.in)
			} else {
				_, err = ValidateBrokerDynamic(c.in, c.perBroker)
			}
			if c.wantErr == nil && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if c.wantErr != nil && !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
		})
	}
}

func TestParseVoter(t *testing.T) {
	cases := []struct {
		in     string
		id     int32
		addr   string
		wantOK bool
	}{
		{"1@localhost:9093", 1, "localhost:9093", true},
		{"3@[::1]:19093", 3, "[::1]:19093", true},
		{"x@localhost:9093", 0, "", false},
		{"1localhost:9093", 0, "", false},
		{"1@:9093", 0, "", false},
		{"1@localhost:0", 0, "", false},
		{"-1@localhost:9093", 0, "", false},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			id, addr, err := ParseVoter(c.in)
			if (err == nil) != c.wantOK {
				t.Fatalf("err = %v, want ok=%v", err, c.wantOK)
			}
			if c.wantOK && (id != c.id || addr != c.addr) {
				t.Errorf("got %d %s, want %d %s", id, addr, c.id, c.addr)
			}
		})
	}
}
