package txn

// State is a transaction's state, numbered as Kafka numbers them in __transaction_state.
//
// Transitions (Kafka's TransactionMetadata):
//
//	Empty          → Ongoing (AddPartitionsToTxn, AddOffsetsToTxn), Empty (InitProducerId bump), Dead (expiry)
//	Ongoing        → Ongoing (more partitions), PrepareCommit, PrepareAbort (EndTxn, timeout, fence)
//	PrepareCommit  → CompleteCommit (every marker written)
//	PrepareAbort   → CompleteAbort (every marker written)
//	CompleteCommit → Ongoing, Empty (InitProducerId), Dead (expiry)
//	CompleteAbort  → Ongoing, Empty (InitProducerId), Dead (expiry)
//
// PrepareEpochFence is the transient state of an InitProducerId that found a transaction
// Ongoing: the epoch is bumped and the transaction aborted under the new epoch; it is never
// written (the PrepareAbort that follows is).
type State int8

const (
	Empty             State = 0
	Ongoing           State = 1
	PrepareCommit     State = 2
	PrepareAbort      State = 3
	CompleteCommit    State = 4
	CompleteAbort     State = 5
	Dead              State = 6
	PrepareEpochFence State = 7
)

var stateNames = [...]string{"Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort", "Dead", "PrepareEpochFence"}

// String is Kafka's name of the state, as DescribeTransactions and ListTransactions use it.
func (s State) String() string {
	if s.valid() {
		return stateNames[s]
	}
	return "Unknown"
}

func (s State) valid() bool { return s >= 0 && int(s) < len(stateNames) }

// ParseState returns the state of a Kafka state name.
func ParseState(name string) (State, bool) {
	for i, n := range stateNames {
		if n == name {
			return State(i), true
		}
	}
	return 0, false
}

// validPrevious lists the states each state may follow.
var validPrevious = map[State][]State{
	Empty:          {Empty, CompleteCommit, CompleteAbort},
	Ongoing:        {Ongoing, Empty, CompleteCommit, CompleteAbort},
	PrepareCommit:  {Ongoing},
	PrepareAbort:   {Ongoing, PrepareEpochFence, Empty, CompleteCommit, CompleteAbort},
	CompleteCommit: {PrepareCommit},
	CompleteAbort:  {PrepareAbort},
	Dead:           {Empty, CompleteCommit, CompleteAbort},
}

// canTransition reports whether to may follow from.
func canTransition(from, to State) bool {
	for _, s := range validPrevious[to] {
		if s == from {
			return true
		}
	}
	return false
}
