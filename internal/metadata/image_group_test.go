package metadata

import (
	"reflect"
	"testing"
)

func TestGroupConfigsApplyAndSnapshot(t *testing.T) {
	set := func(group, name, value string) Record {
		return &ConfigRecord{ResourceType: ConfigResourceGroup, ResourceName: group, Name: name, Value: value}
	}
	img := build(t, BootstrapRecords("c"), []Record{set("sg", "share.session.timeout.ms", "50000"), set("sg", "share.auto.offset.reset", "earliest"),
		set("cg", "consumer.session.timeout.ms", "50000")})
	before := img
	img = build2(t, img, []Record{&ConfigRecord{ResourceType: ConfigResourceGroup, ResourceName: "cg", Name: "consumer.session.timeout.ms", Delete: true}})
	if got := img.GroupsWithConfigs(); !reflect.DeepEqual(got, []string{"sg"}) {
		t.Fatalf("groups with configs %v", got)
	}
	if before.GroupConfigs("cg")["consumer.session.timeout.ms"] != "50000" {
		t.Fatal("a later batch changed an earlier Image")
	}
	got, err := DecodeSnapshot(AppendSnapshot(nil, img))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.GroupConfigs("sg"), map[string]string{"share.session.timeout.ms": "50000", "share.auto.offset.reset": "earliest"}) {
		t.Fatalf("restored group configs %v", got.GroupConfigs("sg"))
	}
	if _, err := img.Apply(img.Offset()+1, []Record{set("", "share.session.timeout.ms", "1")}); err == nil {
		t.Fatal("a group config without a group id applied")
	}
}

func build2(t *testing.T, img *Image, recs []Record) *Image {
	t.Helper()
	next, err := img.Apply(img.Offset()+1, recs)
	if err != nil {
		t.Fatal(err)
	}
	return next
}
