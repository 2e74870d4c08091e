package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// shareDescribe runs `sluice group describe GROUP --format json --metrics HTTP` and returns
// its one share-partition row of topic-0 (fails unless the group is described as a share
// group).
func shareDescribe(t *testing.T, n *node, group string) map[string]any {
	t.Helper()
	res := runSluice(t, n, "", "group", "describe", group, "--format", "json", "--metrics", n.httpAddr)
	if res.code != 0 {
		t.Fatalf("sluice group describe: %d %s", res.code, res.stderr)
	}
	row := shareRow(t, res.stdout)
	if row == nil {
		t.Fatalf("describe output: %s", res.stdout)
	}
	return row
}

// shareRow returns the one share-partition row of `group describe --format json` output of
// one share group, or nil.
func shareRow(t *testing.T, out string) map[string]any {
	t.Helper()
	var descs []map[string]any
	if err := json.Unmarshal([]byte(out), &descs); err != nil || len(descs) != 1 || descs[0]["type"] != "share" {
		return nil
	}
	parts, _ := descs[0]["partitions"].([]any)
	if len(parts) != 1 {
		return nil
	}
	row, _ := parts[0].(map[string]any)
	return row
}

// num reads a JSON number field (-1 for null).
func num(row map[string]any, field string) int64 {
	if v, ok := row[field].(float64); ok {
		return int64(v)
	}
	return -1
}

// TestShareGroupStateSurvivesRestart: a share group's delivery state lives in
// __share_group_state. AlterShareGroupOffsets starts share group sg at offset 0; franz-go's
// share consumer acquires records (the leader's in-flight gauge, read by `sluice group
// describe --metrics`, counts them and any the consumer fetched ahead) and accepts them; the start offset moves past them. After
// a SIGKILL and restart the broker loads the state: `sluice group describe` shows the same
// start offset and lag, and a new share consumer gets exactly the records not yet accepted —
// none of the accepted ones again.
func TestShareGroupStateSurvivesRestart(t *testing.T) {
	n := startNode(t)
	n.createTopic("ss", 1, nil)
	const total = 20
	prod := n.client(kgo.DefaultProduceTopic("ss"))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for i := range total { // one batch per record, so a share fetch can take a few
		if err := prod.ProduceSync(ctx, kgo.StringRecord(fmt.Sprintf("v%02d", i))).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	offs := kadm.Offsets{}
	offs.AddOffset("ss", 0, 0, -1)
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := n.admin().AlterShareGroupOffsets(ctx, "sg", offs)
		if err == nil && res.Error() == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alter share group offsets: %v %v", err, res.Error())
		}
		time.Sleep(100 * time.Millisecond) // __consumer_offsets loading on first use
	}
	if row := shareDescribe(t, n, "sg"); num(row, "start_offset") != 0 || num(row, "lag") != total {
		t.Fatalf("after alter: %+v", row)
	}

	cons := n.client(kgo.ConsumeTopics("ss"), kgo.ShareGroup("sg"), kgo.ShareMaxRecords(5))
	var held []*kgo.Record
	for len(held) == 0 {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("no records: %v", fs.Errors())
		}
		held = fs.Records()
	}
	for i, r := range held {
		if r.Offset != int64(i) {
			t.Fatalf("first delivery: offset %d at %d", r.Offset, i)
		}
	}
	a := int64(len(held))
	row := shareDescribe(t, n, "sg")
	// The consumer may hold more than it returned (it fetches ahead); never fewer.
	if num(row, "in_flight") < a || num(row, "start_offset") != 0 {
		t.Fatalf("holding %d records: %+v", a, row)
	}
	cons.MarkAcks(kgo.AckAccept, held...)
	if err := cons.FlushAcks(ctx); err != nil {
		t.Fatal(err)
	}
	cons.Close()
	waitFor := func(what string, ok func(map[string]any) bool) map[string]any {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			row := shareDescribe(t, n, "sg")
			if ok(row) {
				return row
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %+v", what, row)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor("accepted records", func(row map[string]any) bool {
		return num(row, "start_offset") == a && num(row, "lag") == total-a && num(row, "in_flight") == 0
	})
	list := runSluice(t, n, "", "group", "list")
	if !strings.Contains(columnGap.ReplaceAllString(list.stdout, "$1  "), "sg  share") {
		t.Fatalf("group list: %s", list.stdout)
	}

	n.kill()
	n.start()
	waitFor("state after the restart", func(row map[string]any) bool {
		return num(row, "start_offset") == a && num(row, "lag") == total-a
	})
	cons = n.client(kgo.ConsumeTopics("ss"), kgo.ShareGroup("sg"))
	seen := map[int64]bool{}
	for int64(len(seen)) < total-a {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("after the restart got %d of %d records: %v", len(seen), total-a, fs.Errors())
		}
		for _, r := range fs.Records() {
			if r.Offset < a || seen[r.Offset] {
				t.Fatalf("offset %d delivered again after the restart (accepted below %d)", r.Offset, a)
			}
			seen[r.Offset] = true
		}
	}
	cons.MarkAcks(kgo.AckAccept)
	if err := cons.FlushAcks(ctx); err != nil {
		t.Fatal(err)
	}
}
