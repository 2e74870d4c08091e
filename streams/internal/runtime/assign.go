package runtime

import (
	"cmp"
	"slices"

	"github.com/sluicehq/sluice/streams/processor"
)

// Member is one group member as the assignor sees it: what it reported in its JoinGroup user
// data.
type Member struct {
	ID string // the group member id
	// Endpoint is the member's application.server (host:port), "" when not set.
	Endpoint string
	// PrevActive are the tasks it ran as active tasks before this rebalance.
	PrevActive []processor.TaskID
	// Local are the tasks whose state it holds on disk (standbys, closed tasks), active
	// ones included.
	Local []processor.TaskID
}

// Assignment is what one member gets.
type Assignment struct {
	Active  []processor.TaskID
	Standby []processor.TaskID
}

// Assign spreads tasks over members (by index) as active tasks, each to one member (all of a
// task's partitions go with it, which keeps co-partitioned partitions together), and up to
// standbys standby copies of each task on other members.
//
// Active tasks stay with their previous owner, else go to a member holding their state, as
// long as that keeps the counts balanced (the most loaded member has at most one task more
// than the least loaded); the rest go to the least loaded members. Standbys go to members
// not running the task, preferring those holding its state, then the least loaded. The
// result depends only on the inputs (members in the order given, tasks sorted).
func Assign(tasks []processor.TaskID, members []Member, standbys int) []Assignment {
	out := make([]Assignment, len(members))
	if len(members) == 0 {
		return out
	}
	tasks = slices.Clone(tasks)
	slices.SortFunc(tasks, compareTask)
	tasks = slices.Compact(tasks)
	prev := map[processor.TaskID]int{}
	local := make([]map[processor.TaskID]bool, len(members))
	for i, m := range members {
		local[i] = map[processor.TaskID]bool{}
		for _, t := range m.Local {
			local[i][t] = true
		}
		for _, t := range m.PrevActive {
			if _, dup := prev[t]; !dup { // two claimants (a zombie): the first keeps it
				prev[t] = i
			}
			local[i][t] = true
		}
	}
	// First pass: previous owners, up to the ceiling of an even share; then members holding
	// the task's state; then the least loaded.
	owner := make(map[processor.TaskID]int, len(tasks))
	load := make([]int, len(members))
	ceil := (len(tasks) + len(members) - 1) / len(members)
	place := func(t processor.TaskID, m int) {
		owner[t] = m
		load[m]++
	}
	var rest []processor.TaskID
	for _, t := range tasks {
		if m, ok := prev[t]; ok && load[m] < ceil {
			place(t, m)
			continue
		}
		rest = append(rest, t)
	}
	var rest2 []processor.TaskID
	for _, t := range rest {
		best := -1
		for m := range members {
			if local[m][t] && load[m] < ceil && (best < 0 || load[m] < load[best]) {
				best = m
			}
		}
		if best >= 0 {
			place(t, best)
			continue
		}
		rest2 = append(rest2, t)
	}
	for _, t := range rest2 {
		place(t, leastLoaded(load, nil))
	}
	// Balance: move tasks from the most to the least loaded member until they differ by at
	// most one, preferring a task the receiver holds state for.
	for {
		hi, lo := 0, 0
		for m := range load {
			if load[m] > load[hi] {
				hi = m
			}
			if load[m] < load[lo] {
				lo = m
			}
		}
		if load[hi]-load[lo] <= 1 {
			break
		}
		var move processor.TaskID
		found := false
		for _, t := range tasks {
			if owner[t] == hi && (!found || local[lo][t] && !local[lo][move]) {
				move, found = t, true
			}
		}
		owner[move] = lo
		load[hi]--
		load[lo]++
	}
	for _, t := range tasks {
		out[owner[t]].Active = append(out[owner[t]].Active, t)
	}
	// Standbys: never on the active's member, never twice on one member.
	total := slices.Clone(load)
	for _, t := range tasks {
		has := map[int]bool{owner[t]: true}
		for range min(standbys, len(members)-1) {
			best := -1
			for m := range members {
				if has[m] {
					continue
				}
				if best < 0 || local[m][t] && !local[best][t] || local[m][t] == local[best][t] && total[m] < total[best] {
					best = m
				}
			}
			has[best] = true
			total[best]++
			out[best].Standby = append(out[best].Standby, t)
		}
	}
	return out
}

// leastLoaded is the first member with the lowest load not in skip.
func leastLoaded(load []int, skip map[int]bool) int {
	best := -1
	for m := range load {
		if skip[m] {
			continue
		}
		if best < 0 || load[m] < load[best] {
			best = m
		}
	}
	return best
}

func compareTask(a, b processor.TaskID) int {
	if c := cmp.Compare(a.Subtopology, b.Subtopology); c != 0 {
		return c
	}
	return cmp.Compare(a.Partition, b.Partition)
}
