package runtime

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sluicehq/sluice/streams/processor"
)

func tasksOf(subs, parts int) []processor.TaskID {
	var ts []processor.TaskID
	for s := range subs {
		for p := range parts {
			ts = append(ts, processor.TaskID{Subtopology: int32(s), Partition: int32(p)})
		}
	}
	return ts
}

// checkAssignment checks the invariants every assignment keeps: each task active on exactly
// one member, active counts within one of each other, standbys never with their active nor
// twice on a member, and min(standbys, members-1) of them per task.
func checkAssignment(t *testing.T, tasks []processor.TaskID, n, standbys int, out []Assignment) {
	t.Helper()
	owner := map[processor.TaskID]int{}
	lo, hi := len(tasks), 0
	for m, a := range out {
		for _, id := range a.Active {
			if o, dup := owner[id]; dup {
				t.Fatalf("task %v active on members %d and %d", id, o, m)
			}
			owner[id] = m
		}
		lo, hi = min(lo, len(a.Active)), max(hi, len(a.Active))
	}
	if len(owner) != len(tasks) {
		t.Fatalf("%d of %d tasks assigned", len(owner), len(tasks))
	}
	if hi-lo > 1 {
		t.Fatalf("unbalanced: %d to %d active tasks per member", lo, hi)
	}
	copies := map[processor.TaskID]int{}
	for m, a := range out {
		seen := map[processor.TaskID]bool{}
		for _, id := range a.Standby {
			if owner[id] == m {
				t.Fatalf("standby of %v on its active member %d", id, m)
			}
			if seen[id] {
				t.Fatalf("two standbys of %v on member %d", id, m)
			}
			seen[id] = true
			copies[id]++
		}
	}
	for _, id := range tasks {
		if want := min(standbys, n-1); copies[id] != want {
			t.Fatalf("task %v has %d standbys, want %d", id, copies[id], want)
		}
	}
}

func TestAssignBalanced(t *testing.T) {
	for _, tc := range []struct{ subs, parts, members, standbys int }{
		{1, 4, 1, 0}, {1, 4, 3, 0}, {2, 5, 3, 1}, {3, 8, 4, 2}, {1, 1, 3, 5}, {2, 3, 7, 1},
	} {
		t.Run(fmt.Sprintf("%dx%d_on_%d_standbys_%d", tc.subs, tc.parts, tc.members, tc.standbys), func(t *testing.T) {
			tasks := tasksOf(tc.subs, tc.parts)
			members := make([]Member, tc.members)
			for i := range members {
				members[i].ID = fmt.Sprint("m", i)
			}
			checkAssignment(t, tasks, tc.members, tc.standbys, Assign(tasks, members, tc.standbys))
		})
	}
}

// TestAssignSticky: after a member joins or leaves, tasks stay where they ran as long as the
// balance allows; a task whose state a member holds (a standby) goes there.
func TestAssignSticky(t *testing.T) {
	tasks := tasksOf(2, 6) // 12 tasks
	three := []Member{{ID: "a"}, {ID: "b"}, {ID: "c"}}
	first := Assign(tasks, three, 1)
	for i := range three {
		three[i].PrevActive = first[i].Active
		three[i].Local = first[i].Standby
	}
	// Nothing changed: the same assignment.
	again := Assign(tasks, three, 1)
	for i := range three {
		if !slices.Equal(again[i].Active, first[i].Active) {
			t.Fatalf("member %d: active %v, before %v", i, again[i].Active, first[i].Active)
		}
	}
	// c leaves: a and b keep every task they had and take c's, preferring their standbys.
	two := three[:2]
	after := Assign(tasks, two, 1)
	checkAssignment(t, tasks, 2, 1, after)
	for i := range two {
		for _, id := range first[i].Active {
			if !slices.Contains(after[i].Active, id) {
				t.Errorf("member %d lost task %v after another member left", i, id)
			}
		}
	}
	for _, id := range first[2].Active {
		for i := range two {
			if slices.Contains(after[i].Active, id) && !slices.Contains(first[i].Standby, id) && slices.Contains(first[1-i].Standby, id) && len(after[1-i].Active) < 6 {
				t.Errorf("task %v went to member %d, not to member %d holding its standby", id, i, 1-i)
			}
		}
	}
	// A fourth member joins: it gets a fair share, and the others move no more tasks than
	// that share.
	four := append(slices.Clone(three), Member{ID: "d"})
	grown := Assign(tasks, four, 0)
	checkAssignment(t, tasks, 4, 0, grown)
	moved := 0
	for i := range three {
		for _, id := range grown[i].Active {
			if !slices.Contains(first[i].Active, id) {
				moved++
			}
		}
	}
	if moved != 0 || len(grown[3].Active) != 3 {
		t.Errorf("joining member got %d tasks, %d others moved between old members", len(grown[3].Active), moved)
	}
}

// TestAssignZombieClaim: two members claiming the same previous task (a zombie and its
// successor) still get it assigned once.
func TestAssignZombieClaim(t *testing.T) {
	tasks := tasksOf(1, 4)
	id := processor.TaskID{Partition: 1}
	members := []Member{{ID: "a", PrevActive: []processor.TaskID{id}}, {ID: "b", PrevActive: []processor.TaskID{id}}}
	checkAssignment(t, tasks, 2, 1, Assign(tasks, members, 1))
}

// TestAssignRandom checks the invariants over random histories of joins, leaves and
// reported state.
func TestAssignRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 300 {
		subs, parts := 1+rng.IntN(3), 1+rng.IntN(8)
		tasks := tasksOf(subs, parts)
		n := 1 + rng.IntN(6)
		standbys := rng.IntN(3)
		members := make([]Member, n)
		for i := range members {
			members[i].ID = fmt.Sprint("m", i)
			for _, id := range tasks {
				switch rng.IntN(4) {
				case 0:
					members[i].PrevActive = append(members[i].PrevActive, id)
				case 1:
					members[i].Local = append(members[i].Local, id)
				}
			}
		}
		out := Assign(tasks, members, standbys)
		t.Run(fmt.Sprint(iter), func(t *testing.T) { checkAssignment(t, tasks, n, standbys, out) })
	}
}

func TestTasks(t *testing.T) {
	subTopics := [][]string{{"a", "b"}, {"app-r-repartition"}}
	got, err := Tasks(subTopics, map[string]int32{"a": 2, "b": 3, "app-r-repartition": 1})
	if err != nil {
		t.Fatal(err)
	}
	want := []processor.TaskID{{Subtopology: 0, Partition: 0}, {Subtopology: 0, Partition: 1}, {Subtopology: 0, Partition: 2}, {Subtopology: 1, Partition: 0}}
	if !slices.Equal(got, want) {
		t.Fatalf("tasks %v, want %v", got, want)
	}
	if _, err := Tasks(subTopics, map[string]int32{"a": 2}); err == nil {
		t.Fatal("no error for a topic without metadata")
	}
}
