package metadata

import (
	"errors"
	"fmt"
	"strings"
)

// Errors of the controller. Each is wrapped with a message a user can act on; internal/api
// maps them to Kafka error codes (shown in brackets).
var (
	ErrNotController            = errors.New("metadata: this node is not the controller") // NOT_CONTROLLER
	ErrTopicExists              = errors.New("metadata: topic already exists")            // TOPIC_ALREADY_EXISTS
	ErrUnknownTopic             = errors.New("metadata: unknown topic")                   // UNKNOWN_TOPIC_OR_PARTITION
	ErrUnknownTopicID           = errors.New("metadata: unknown topic id")                // UNKNOWN_TOPIC_ID
	ErrInvalidTopic             = errors.New("metadata: invalid topic name")              // INVALID_TOPIC_EXCEPTION
	ErrInvalidPartitions        = errors.New("metadata: invalid number of partitions")    // INVALID_PARTITIONS
	ErrInvalidReplicationFactor = errors.New("metadata: invalid replication factor")      // INVALID_REPLICATION_FACTOR
	ErrInvalidReplicaAssignment = errors.New("metadata: invalid replica assignment")      // INVALID_REPLICA_ASSIGNMENT
	ErrInvalidConfig            = errors.New("metadata: invalid config")                  // INVALID_CONFIG
	ErrInvalidRequest           = errors.New("metadata: invalid request")                 // INVALID_REQUEST
	ErrTopicDeletionDisabled    = errors.New("metadata: topic deletion is disabled")      // TOPIC_DELETION_DISABLED
	ErrPolicyViolation          = errors.New("metadata: request exceeds a limit")         // POLICY_VIOLATION
	ErrInvalidUpdateVersion     = errors.New("metadata: invalid feature version update")  // INVALID_UPDATE_VERSION
	ErrFeatureUpdateFailed      = errors.New("metadata: feature update failed")           // FEATURE_UPDATE_FAILED
	ErrBrokerIDNotRegistered    = errors.New("metadata: broker is not registered")        // BROKER_ID_NOT_REGISTERED
	ErrStaleBrokerEpoch         = errors.New("metadata: stale broker epoch")              // STALE_BROKER_EPOCH

	ErrElectionNotNeeded           = errors.New("metadata: election not needed")                   // ELECTION_NOT_NEEDED
	ErrPreferredLeaderNotAvailable = errors.New("metadata: preferred leader not available")        // PREFERRED_LEADER_NOT_AVAILABLE
	ErrEligibleLeadersNotAvailable = errors.New("metadata: no eligible leader available")          // ELIGIBLE_LEADERS_NOT_AVAILABLE
	ErrNoReassignmentInProgress    = errors.New("metadata: no partition reassignment in progress") // NO_REASSIGNMENT_IN_PROGRESS

	ErrDuplicateBrokerRegistration = errors.New("metadata: broker id registered by another live process") // DUPLICATE_BROKER_REGISTRATION
	// ErrDuplicateBrokerRegister is the former name of ErrDuplicateBrokerRegistration (the same
	// error), kept until internal/api moves to the new name.
	ErrDuplicateBrokerRegister = ErrDuplicateBrokerRegistration
)

// MaxTopicNameLength is Kafka's limit: a topic's directories are <name>-<partition>, and 249
// leaves room for the partition number within the 255-byte file-name limit.
const MaxTopicNameLength = 249

// ValidateTopicName applies Kafka's rules: 1..249 characters of [a-zA-Z0-9._-], and not "." or
// "..". The error wraps ErrInvalidTopic.
func ValidateTopicName(name string) error {
	switch {
	case name == "":
		return errorf(ErrInvalidTopic, "the name is empty")
	case name == "." || name == "..":
		return errorf(ErrInvalidTopic, "%q is not allowed", name)
	case len(name) > MaxTopicNameLength:
		return errorf(ErrInvalidTopic, "the name is %d characters long; the limit is %d", len(name), MaxTopicNameLength)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return errorf(ErrInvalidTopic, "%q contains %q; use only ASCII letters, digits, '.', '_' and '-'", name, rune(c))
		}
	}
	return nil
}

// collisionKey maps names that Kafka's metric names cannot tell apart ('.' and '_') to one key.
func collisionKey(name string) string { return strings.ReplaceAll(name, ".", "_") }

// opError carries a message for the user and the sentinel it is a case of. Its text is the
// message alone (no "metadata: ..." prefix), because internal/api sends it to the client as the
// Kafka error message; errors.Is still finds the sentinel and any error wrapped in the message.
type opError struct {
	kind error
	err  error
}

func (e *opError) Error() string   { return e.err.Error() }
func (e *opError) Unwrap() []error { return []error{e.kind, e.err} }

// errorf returns an error of the given kind; format may wrap a cause with %w.
func errorf(kind error, format string, args ...any) error {
	return &opError{kind: kind, err: fmt.Errorf(format, args...)}
}
