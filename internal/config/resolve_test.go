package config

import (
	"reflect"
	"testing"
)

func TestResolveTopic(t *testing.T) {
	cases := []struct {
		name         string
		layers       Layers
		config       Name
		wantValue    string
		wantSource   Source
		wantSynonyms []SynonymValue
	}{
		{
			name: "built-in default", config: RetentionMs, wantValue: "604800000", wantSource: SourceDefault,
			wantSynonyms: []SynonymValue{{"log.retention.hours", "168", SourceDefault}},
		},
		{
			name: "no synonyms", config: RemoteStorageEnable, wantValue: "false", wantSource: SourceDefault,
		},
		{
			name:   "topic override wins",
			layers: Layers{Topic: map[string]string{string(RetentionMs): "1000"}, Static: map[string]string{"log.retention.hours": "1"}},
			config: RetentionMs, wantValue: "1000", wantSource: SourceDynamicTopic,
			wantSynonyms: []SynonymValue{
				{RetentionMs, "1000", SourceDynamicTopic},
				{"log.retention.hours", "1", SourceStaticBroker},
				{"log.retention.hours", "168", SourceDefault},
			},
		},
		{
			name:   "static hours converted",
			layers: Layers{Static: map[string]string{"log.retention.hours": "2"}},
			config: RetentionMs, wantValue: "7200000", wantSource: SourceStaticBroker,
			wantSynonyms: []SynonymValue{
				{"log.retention.hours", "2", SourceStaticBroker},
				{"log.retention.hours", "168", SourceDefault},
			},
		},
		{
			name:   "static minutes beat static hours",
			layers: Layers{Static: map[string]string{"log.retention.hours": "2", "log.retention.minutes": "3"}},
			config: RetentionMs, wantValue: "180000", wantSource: SourceStaticBroker,
			wantSynonyms: []SynonymValue{
				{"log.retention.minutes", "3", SourceStaticBroker},
				{"log.retention.hours", "2", SourceStaticBroker},
				{"log.retention.hours", "168", SourceDefault},
			},
		},
		{
			name: "negative hours mean unlimited", layers: Layers{Static: map[string]string{"log.retention.hours": "-1"}},
			config: RetentionMs, wantValue: "-1", wantSource: SourceStaticBroker,
			wantSynonyms: []SynonymValue{
				{"log.retention.hours", "-1", SourceStaticBroker},
				{"log.retention.hours", "168", SourceDefault},
			},
		},
		{
			name: "dynamic broker beats dynamic default beats static",
			layers: Layers{
				DynamicBroker:  map[string]string{"log.segment.bytes": "2097152"},
				DynamicDefault: map[string]string{"log.segment.bytes": "3145728"},
				Static:         map[string]string{"log.segment.bytes": "4194304"},
			},
			config: SegmentBytes, wantValue: "2097152", wantSource: SourceDynamicBroker,
			wantSynonyms: []SynonymValue{
				{"log.segment.bytes", "2097152", SourceDynamicBroker},
				{"log.segment.bytes", "3145728", SourceDynamicDefaultBroker},
				{"log.segment.bytes", "4194304", SourceStaticBroker},
				{"log.segment.bytes", "1073741824", SourceDefault},
			},
		},
		{
			name:   "dynamic default ms beats static hours",
			layers: Layers{DynamicDefault: map[string]string{"log.retention.ms": "5000"}, Static: map[string]string{"log.retention.hours": "1"}},
			config: RetentionMs, wantValue: "5000", wantSource: SourceDynamicDefaultBroker,
			wantSynonyms: []SynonymValue{
				{"log.retention.ms", "5000", SourceDynamicDefaultBroker},
				{"log.retention.hours", "1", SourceStaticBroker},
				{"log.retention.hours", "168", SourceDefault},
			},
		},
		{
			name:   "renamed synonym",
			layers: Layers{Static: map[string]string{string(MessageMaxBytes): "2000000"}},
			config: MaxMessageBytes, wantValue: "2000000", wantSource: SourceStaticBroker,
			wantSynonyms: []SynonymValue{
				{MessageMaxBytes, "2000000", SourceStaticBroker},
				{MessageMaxBytes, "1048588", SourceDefault},
			},
		},
		{
			name:   "invalid stored override is skipped",
			layers: Layers{Topic: map[string]string{string(SegmentBytes): "12"}},
			config: SegmentBytes, wantValue: "1073741824", wantSource: SourceDefault,
			wantSynonyms: []SynonymValue{{"log.segment.bytes", "1073741824", SourceDefault}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ResolveTopic(c.layers)
			e, ok := r.Entry(c.config)
			if !ok {
				t.Fatalf("no entry for %s", c.config)
			}
			if e.Value != c.wantValue || e.Source != c.wantSource {
				t.Errorf("value %q source %s; want %q %s", e.Value, e.Source, c.wantValue, c.wantSource)
			}
			if !reflect.DeepEqual(e.Synonyms, c.wantSynonyms) {
				t.Errorf("synonyms\n got %v\nwant %v", e.Synonyms, c.wantSynonyms)
			}
		})
	}
}

func TestResolveTopicEveryConfig(t *testing.T) {
	r := ResolveTopic(Layers{})
	if len(r.Entries()) != len(topicTable) {
		t.Fatalf("%d entries, want %d", len(r.Entries()), len(topicTable))
	}
	if len(r.Problems()) != 0 {
		t.Errorf("problems resolving defaults: %v", r.Problems())
	}
	r = ResolveTopic(Layers{Topic: map[string]string{string(SegmentBytes): "x"}})
	if len(r.Problems()) != 1 {
		t.Errorf("problems = %v, want one", r.Problems())
	}
}

func TestTypedGetters(t *testing.T) {
	r := ResolveTopic(Layers{Topic: map[string]string{
		string(RetentionMs): "1000", string(Preallocate): "true", string(MinCleanableDirtyRatio): "0.75",
		string(CleanupPolicy): "compact,delete", string(MessageTimestampType): "LogAppendTime",
	}})
	if got := r.Int64(RetentionMs); got != 1000 {
		t.Errorf("Int64(retention.ms) = %d", got)
	}
	if got := r.Int(SegmentBytes); got != 1<<30 {
		t.Errorf("Int(segment.bytes) = %d", got)
	}
	if got := r.Int64(SegmentBytes); got != 1<<30 {
		t.Errorf("Int64(segment.bytes) = %d", got)
	}
	if !r.Bool(Preallocate) {
		t.Error("Bool(preallocate) = false")
	}
	if got := r.Float64(MinCleanableDirtyRatio); got != 0.75 {
		t.Errorf("Float64 = %v", got)
	}
	if got := r.List(CleanupPolicy); !reflect.DeepEqual(got, []string{"compact", "delete"}) {
		t.Errorf("List = %v", got)
	}
	if got := r.String(MessageTimestampType); got != "LogAppendTime" {
		t.Errorf("String = %q", got)
	}
	for name, get := range map[string]func(){
		"wrong type":   func() { r.Bool(RetentionMs) },
		"unknown name": func() { r.Int64("retention.msec") },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			get()
		})
	}
}

func TestResolveBroker(t *testing.T) {
	cases := []struct {
		name         string
		layers       Layers
		config       Name
		wantValue    string
		wantNull     bool
		wantSource   Source
		wantSynonyms []SynonymValue
	}{
		{
			name: "default", config: NumPartitions, wantValue: "1", wantSource: SourceDefault,
			wantSynonyms: []SynonymValue{{NumPartitions, "1", SourceDefault}},
		},
		{
			name: "static", layers: Layers{Static: map[string]string{string(NumPartitions): "6"}},
			config: NumPartitions, wantValue: "6", wantSource: SourceStaticBroker,
			wantSynonyms: []SynonymValue{{NumPartitions, "6", SourceStaticBroker}, {NumPartitions, "1", SourceDefault}},
		},
		{
			name: "unset without default", config: "log.retention.ms", wantNull: true, wantSource: SourceDefault,
			wantSynonyms: []SynonymValue{{"log.retention.hours", "168", SourceDefault}},
		},
		{
			name:   "chain lists lower synonyms only",
			layers: Layers{DynamicDefault: map[string]string{"log.retention.ms": "1"}, Static: map[string]string{"log.retention.minutes": "5"}},
			config: "log.retention.minutes", wantValue: "5", wantSource: SourceStaticBroker,
			wantSynonyms: []SynonymValue{{"log.retention.minutes", "5", SourceStaticBroker}, {"log.retention.hours", "168", SourceDefault}},
		},
		{
			name: "null type is zero", config: BrokerRack, wantNull: true, wantSource: SourceDefault,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ResolveBroker(c.layers)
			e, ok := r.Entry(c.config)
			if !ok {
				t.Fatalf("no entry %s", c.config)
			}
			if e.Value != c.wantValue || e.Null != c.wantNull || e.Source != c.wantSource {
				t.Errorf("value %q null %v source %s; want %q %v %s", e.Value, e.Null, e.Source, c.wantValue, c.wantNull, c.wantSource)
			}
			if !reflect.DeepEqual(e.Synonyms, c.wantSynonyms) {
				t.Errorf("synonyms\n got %v\nwant %v", e.Synonyms, c.wantSynonyms)
			}
		})
	}
	if got := ResolveBroker(Layers{}).String(BrokerRack); got != "" {
		t.Errorf("unset rack = %q", got)
	}
}
