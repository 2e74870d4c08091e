package metadata

import (
	"slices"
	"strings"
)

// Placement of new partitions' replicas, with the goals of Kafka's StripedReplicaPlacer:
//
//   - only usable brokers (registered, unfenced, not in controlled shutdown) get replicas;
//   - the replicas of a partition go to distinct racks while racks remain, then to distinct
//     brokers of racks already used;
//   - leaders (first replicas) rotate over brokers, so per topic each broker leads the same
//     number of partitions give or take one, and racks lead in proportion to their brokers;
//   - followers are spread too: their distance from the leader shifts every round of leaders,
//     so two brokers do not always back each other up.
//
// Racks are Broker.Rack. When no usable broker has one, placement is Kafka's rack-unaware
// round-robin over brokers by id. When some have a rack and others not, the brokers without
// one form a rack of their own: KRaft's placer accepts such a cluster (only the ZooKeeper-era
// assignment refused it), and so do we.
//
// Everything is deterministic given the start and shift (drawn from the controller's seeded
// generator), so tests can pin placements.

// placer places replicas over the usable brokers of one Image.
type placer struct {
	// order lists the usable brokers in placement order: by id when rack-unaware, else taking
	// one broker of each rack in turn (racks by name, brokers by id within a rack).
	order    []int32
	rackOf   map[int32]string // nil when rack-unaware
	numRacks int
	rf       int
}

// newPlacer prepares placement of rf replicas per partition over img's usable brokers; the
// error wraps ErrInvalidReplicationFactor with Kafka's message when there are too few.
func newPlacer(img *Image, rf int) (*placer, error) {
	var usable []*Broker
	registered := 0
	anyRack := false
	for _, b := range img.Brokers() {
		registered++
		if b.Active() {
			usable = append(usable, b)
			anyRack = anyRack || b.Rack != ""
		}
	}
	if len(usable) == 0 && registered > 0 {
		return nil, errorf(ErrInvalidReplicationFactor, "Unable to replicate the partition %d time(s): All brokers are currently fenced.", rf)
	}
	if rf > len(usable) {
		return nil, errorf(ErrInvalidReplicationFactor,
			"Unable to replicate the partition %d time(s): The target replication factor of %d cannot be reached because only %d broker(s) are registered.",
			rf, rf, len(usable))
	}
	p := &placer{rf: rf}
	if !anyRack {
		for _, b := range usable {
			p.order = append(p.order, b.ID)
		}
		return p, nil
	}
	byRack := map[string][]int32{}
	p.rackOf = make(map[int32]string, len(usable))
	for _, b := range usable { // by id, so each rack's list is by id
		byRack[b.Rack] = append(byRack[b.Rack], b.ID)
		p.rackOf[b.ID] = b.Rack
	}
	racks := make([]string, 0, len(byRack))
	for r := range byRack {
		racks = append(racks, r)
	}
	slices.SortFunc(racks, strings.Compare)
	p.numRacks = len(racks)
	for i := 0; len(p.order) < len(usable); i++ {
		for _, r := range racks {
			if i < len(byRack[r]) {
				p.order = append(p.order, byRack[r][i])
			}
		}
	}
	return p, nil
}

func (p *placer) numBrokers() int { return len(p.order) }

// index is the position of broker id in placement order, -1 if it is not usable.
func (p *placer) index(id int32) int { return slices.Index(p.order, id) }

// place returns the replicas of partitions firstPartition, firstPartition+1, …: partition q's
// leader is order[(q+start) mod n], its followers come after it at a distance that shifts by one
// every n partitions (rack-unaware: exactly Kafka's rack-unaware assignment).
func (p *placer) place(partitions, firstPartition, start, shift int) [][]int32 {
	if p.rackOf == nil {
		return placeReplicas(p.order, partitions, p.rf, firstPartition, start, shift)
	}
	n := len(p.order)
	out := make([][]int32, partitions)
	usedRacks := make(map[string]bool, p.numRacks)
	for i := 0; i < partitions; i++ {
		q := firstPartition + i
		shift := shift + q/n
		lead := (q + start) % n
		replicas := make([]int32, 1, p.rf)
		replicas[0] = p.order[lead]
		clear(usedRacks)
		usedRacks[p.rackOf[replicas[0]]] = true
		for len(replicas) < p.rf {
			replicas = append(replicas, p.follower(replicas, usedRacks, lead, shift))
		}
		out[i] = replicas
	}
	return out
}

// follower picks the next follower of a partition led by order[lead]: walking the other brokers
// from a shifted distance, the first one on a rack without a replica yet, or, once every rack
// has one, the first one without a replica.
func (p *placer) follower(replicas []int32, usedRacks map[string]bool, lead, shift int) int32 {
	n := len(p.order)
	allRacks := len(usedRacks) == p.numRacks
	for k := 0; k < n-1; k++ {
		b := p.order[(lead+1+(shift+k)%(n-1))%n]
		if slices.Contains(replicas, b) || (!allRacks && usedRacks[p.rackOf[b]]) {
			continue
		}
		usedRacks[p.rackOf[b]] = true
		return b
	}
	// Unreachable while rf ≤ n: some unused broker exists, and with all racks used any will do.
	panic("metadata: placement found no follower")
}

// placeReplicas spreads partitions over brokers the way Kafka's rack-unaware assignment does:
// partition p's first replica is broker (p + start) mod n, so leaders rotate; the followers
// come after it at a distance that shifts by one every n partitions, so that two brokers do
// not always back each other up. len(brokers) ≥ rf ≥ 1.
func placeReplicas(brokers []int32, partitions, rf, firstPartition, start, shift int) [][]int32 {
	n := len(brokers)
	out := make([][]int32, partitions)
	for i := 0; i < partitions; i++ {
		p := firstPartition + i
		if p > 0 && p%n == 0 {
			shift++
		}
		lead := (p + start) % n
		replicas := make([]int32, 0, rf)
		replicas = append(replicas, brokers[lead])
		for j := 0; j < rf-1; j++ {
			replicas = append(replicas, brokers[(lead+1+(shift+j)%(n-1))%n])
		}
		out[i] = replicas
	}
	return out
}

// manualAssignments validates hand-placed replicas as Kafka does (INVALID_REPLICA_ASSIGNMENT):
// partitions numbered consecutively from first, each with a non-empty list of distinct,
// registered brokers, all lists of the same length (wantRF, or that of the first when -1), and
// at least one active broker per partition to lead it.
func manualAssignments(img *Image, as []Assignment, first int32, wantRF int) ([][]int32, error) {
	out := make([][]int32, len(as))
	for i, a := range as {
		if a.Partition != first+int32(i) {
			return nil, errorf(ErrInvalidReplicaAssignment, "partitions must be numbered consecutively from %d; found %d at position %d", first, a.Partition, i)
		}
		if len(a.Replicas) == 0 {
			return nil, errorf(ErrInvalidReplicaAssignment, "the manual assignment of partition %d has an empty replica list", a.Partition)
		}
		if wantRF == -1 {
			wantRF = len(a.Replicas)
		}
		if len(a.Replicas) != wantRF {
			return nil, errorf(ErrInvalidReplicaAssignment,
				"the manual assignment of partition %d has %d replica(s), which is not consistent with the other partitions' %d replica(s)",
				a.Partition, len(a.Replicas), wantRF)
		}
		live := 0
		for j, b := range a.Replicas {
			if slices.Contains(a.Replicas[:j], b) {
				return nil, errorf(ErrInvalidReplicaAssignment, "the manual assignment of partition %d names broker %d more than once", a.Partition, b)
			}
			if _, ok := img.Broker(b); !ok {
				return nil, errorf(ErrInvalidReplicaAssignment, "the manual assignment of partition %d names broker %d, but no such broker is registered", a.Partition, b)
			}
			if isActive(img, b) {
				live++
			}
		}
		if live == 0 {
			return nil, errorf(ErrInvalidReplicaAssignment,
				"every broker of the manual assignment of partition %d is fenced or in controlled shutdown", a.Partition)
		}
		out[i] = slices.Clone(a.Replicas)
	}
	return out, nil
}
