package api

import (
	"testing"
	"time"
)

func TestFetchSessionCacheBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	s := NewFetchSessions(2)
	s.now = func() time.Time { return now }
	part := func() []*sessionPartition { return []*sessionPartition{{key: sessionKey{topic: "t"}}} }
	first := s.create(part(), false)
	second := s.create(part(), false)
	if first == nil || second == nil || first.id == second.id {
		t.Fatal("two sessions fit in two slots")
	}
	if s.create(part(), false) != nil {
		t.Fatal("a third session was created while both were fresh")
	}
	now = now.Add(fetchSessionEvictableAfter)
	third := s.create(part(), false)
	if third == nil || s.Len() != 2 {
		t.Fatalf("after the eviction delay: session %v, %d cached", third, s.Len())
	}
	s.mu.Lock()
	_, firstKept := s.mu.sessions[first.id]
	s.mu.Unlock()
	if firstKept {
		t.Fatal("the least recently used session was not the one evicted")
	}
	if NewFetchSessions(0).create(part(), false) != nil {
		t.Fatal("zero slots must disable sessions")
	}
}
