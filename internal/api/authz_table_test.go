package api_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/api"
)

// Short names for the table.
const (
	opRead      = kmsg.ACLOperationRead
	opWrite     = kmsg.ACLOperationWrite
	opCreate    = kmsg.ACLOperationCreate
	opDelete    = kmsg.ACLOperationDelete
	opAlter     = kmsg.ACLOperationAlter
	opDescribe  = kmsg.ACLOperationDescribe
	opCluster   = kmsg.ACLOperationClusterAction
	opDescCfg   = kmsg.ACLOperationDescribeConfigs
	opAlterCfg  = kmsg.ACLOperationAlterConfigs
	opIdemWrite = kmsg.ACLOperationIdempotentWrite

	resTopic   = kmsg.ACLResourceTypeTopic
	resGroup   = kmsg.ACLResourceTypeGroup
	resCluster = kmsg.ACLResourceTypeCluster
	resTxn     = kmsg.ACLResourceTypeTransactionalId
)

var (
	topicDenied   = kerr.TopicAuthorizationFailed
	groupDenied   = kerr.GroupAuthorizationFailed
	clusterDenied = kerr.ClusterAuthorizationFailed
	txnDenied     = kerr.TransactionalIDAuthorizationFailed
)

func clusterNeed(op kmsg.ACLOperation) need {
	return need{op, resCluster, api.ClusterName, clusterDenied}
}

// v sets a request's version and returns it.
func v[R kmsg.Request](r R, version int16) R {
	r.SetVersion(version)
	return r
}

// createTopicAs creates topic name as the admin (a row's setup).
func createTopicAs(name string) func(t *testing.T, f *authzFixture, run string) {
	return func(t *testing.T, f *authzFixture, run string) {
		f.createTopic(replaceRun(name, run), 1, nil)
	}
}

func replaceRun(s, run string) string { return need{name: s}.resource(run) }

// alterShareOffsetsRequest sets share group g's start offset of t-0 to 0.
func alterShareOffsetsRequest(g string) *kmsg.AlterShareGroupOffsetsRequest {
	r := kmsg.NewPtrAlterShareGroupOffsetsRequest()
	r.GroupID = g
	r.Topics = []kmsg.AlterShareGroupOffsetsRequestTopic{{Topic: "t", Partitions: []kmsg.AlterShareGroupOffsetsRequestTopicPartition{{Partition: 0, StartOffset: 0}}}}
	return r
}

// alterShareOffsetsAs gives share group name (created) state for t-0, as the admin.
func alterShareOffsetsAs(name string) func(t *testing.T, f *authzFixture, run string) {
	return func(t *testing.T, f *authzFixture, run string) {
		t.Helper()
		resp := sendAs(t, f.brokerAddr, "admin", alterShareOffsetsRequest(replaceRun(name, run))).(*kmsg.AlterShareGroupOffsetsResponse)
		if resp.ErrorCode != 0 || resp.Topics[0].Partitions[0].ErrorCode != 0 {
			t.Fatalf("alter share group offsets as the admin: %v %v", kerr.ErrorForCode(resp.ErrorCode), kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode))
		}
	}
}

// authzCases is the table: Kafka's checks per API (KafkaApis, ControllerApis, AclApis).
func authzCases() []authzCase {
	return []authzCase{
		{name: "produce", key: 0, needs: []need{{opWrite, resTopic, "t", topicDenied}},
			request: func(f *authzFixture, _ string) kmsg.Request {
				r := v(kmsg.NewPtrProduceRequest(), 9)
				r.Acks, r.TimeoutMillis = 1, 5000
				r.Topics = []kmsg.ProduceRequestTopic{{Topic: "t", Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 0, Records: oneRecordBatch(f.t.(*testing.T))}}}}
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode }},
		{name: "produce transactional", key: 0,
			needs: []need{{opWrite, resTxn, "tx", txnDenied}, {opWrite, resTopic, "t", topicDenied}},
			request: func(f *authzFixture, _ string) kmsg.Request {
				r := v(kmsg.NewPtrProduceRequest(), 9)
				r.Acks, r.TimeoutMillis, r.TransactionID = 1, 5000, kmsg.StringPtr("tx")
				r.Topics = []kmsg.ProduceRequestTopic{{Topic: "t", Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 0,
					Records: producerBatch(f.t.(*testing.T), 999, 0, 0, 1, true)}}}}
				return r
			},
			code:       func(r kmsg.Response) int16 { return r.(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode },
			anyAllowed: true}, // the producer never joined a transaction
		{name: "fetch", key: 1, needs: []need{{opRead, resTopic, "t", topicDenied}},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrFetchRequest(), 12)
				r.ReplicaID, r.MaxBytes, r.SessionEpoch = -1, 1<<20, -1
				r.Topics = []kmsg.FetchRequestTopic{{Topic: "t", Partitions: []kmsg.FetchRequestTopicPartition{{Partition: 0, PartitionMaxBytes: 1 << 20, CurrentLeaderEpoch: -1, LastFetchedEpoch: -1, LogStartOffset: -1}}}}
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.FetchResponse).Topics[0].Partitions[0].ErrorCode }},
		{name: "replica fetch", key: 1, needs: []need{clusterNeed(opCluster).withCode(topicDenied)},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrFetchRequest(), 12)
				r.ReplicaID, r.MaxBytes, r.SessionEpoch = 1, 1<<20, -1
				r.Topics = []kmsg.FetchRequestTopic{{Topic: "t", Partitions: []kmsg.FetchRequestTopicPartition{{Partition: 0, PartitionMaxBytes: 1 << 20, CurrentLeaderEpoch: -1, LastFetchedEpoch: -1, LogStartOffset: -1}}}}
				return r
			},
			code:       func(r kmsg.Response) int16 { return r.(*kmsg.FetchResponse).Topics[0].Partitions[0].ErrorCode },
			anyAllowed: true}, // node 1 is the partition's only replica and leader: NOT_LEADER_OR_FOLLOWER
		{name: "list offsets", key: 2, needs: []need{{opDescribe, resTopic, "t", topicDenied}},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrListOffsetsRequest(), 7)
				r.ReplicaID = -1
				r.Topics = []kmsg.ListOffsetsRequestTopic{{Topic: "t", Partitions: []kmsg.ListOffsetsRequestTopicPartition{{Partition: 0, Timestamp: -1, CurrentLeaderEpoch: -1}}}}
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0].ErrorCode }},
		{name: "metadata named", key: 3, needs: []need{{opDescribe, resTopic, "t", topicDenied}},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrMetadataRequest(), 12)
				r.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("t")}}
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.MetadataResponse).Topics[0].ErrorCode }},
		{name: "metadata all topics", key: 3, needs: []need{{opDescribe, resTopic, "t", nil}},
			request: func(*authzFixture, string) kmsg.Request { return v(kmsg.NewPtrMetadataRequest(), 12) },
			visible: func(r kmsg.Response) bool {
				for _, t := range r.(*kmsg.MetadataResponse).Topics {
					if t.Topic != nil && *t.Topic == "t" {
						return true
					}
				}
				return false
			}},
		{name: "metadata auto-create", key: 3,
			needs: []need{{opDescribe, resTopic, "auto-$", topicDenied}, {opCreate, resTopic, "auto-$", topicDenied}},
			request: func(_ *authzFixture, run string) kmsg.Request {
				r := v(kmsg.NewPtrMetadataRequest(), 12)
				r.AllowAutoTopicCreation = true
				r.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr(replaceRun("auto-$", run))}}
				return r
			},
			code:    func(r kmsg.Response) int16 { return r.(*kmsg.MetadataResponse).Topics[0].ErrorCode },
			allowed: kerr.UnknownTopicOrPartition}, // created: Kafka answers the code, no partitions
		{name: "offset commit", key: 8,
			needs: []need{{opRead, resGroup, "g", groupDenied}, {opRead, resTopic, "t", topicDenied}},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrOffsetCommitRequest(), 8)
				r.Group, r.Generation = "g", -1
				r.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 0}}}}
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode }},
		{name: "offset fetch", key: 9,
			needs: []need{{opDescribe, resGroup, "g", groupDenied}, {opDescribe, resTopic, "t", topicDenied}},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrOffsetFetchRequest(), 8)
				r.Groups = []kmsg.OffsetFetchRequestGroup{{Group: "g", Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{0}}}}}
				return r
			},
			code: func(r kmsg.Response) int16 {
				g := r.(*kmsg.OffsetFetchResponse).Groups[0]
				if g.ErrorCode != 0 {
					return g.ErrorCode
				}
				return g.Topics[0].Partitions[0].ErrorCode
			}},
		{name: "find group coordinator", key: 10, needs: []need{{opDescribe, resGroup, "g", groupDenied}},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrFindCoordinatorRequest(), 4)
				r.CoordinatorType, r.CoordinatorKeys = 0, []string{"g"}
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.FindCoordinatorResponse).Coordinators[0].ErrorCode }},
		{name: "find transaction coordinator", key: 10, needs: []need{{opDescribe, resTxn, "tx", txnDenied}},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrFindCoordinatorRequest(), 3)
				r.CoordinatorType, r.CoordinatorKey = 1, "tx"
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.FindCoordinatorResponse).ErrorCode }},
		{name: "join group", key: 11, needs: []need{{opRead, resGroup, "jg-$", groupDenied}},
			request: func(_ *authzFixture, run string) kmsg.Request {
				r := v(kmsg.NewPtrJoinGroupRequest(), 5)
				r.Group, r.SessionTimeoutMillis, r.RebalanceTimeoutMillis, r.ProtocolType = replaceRun("jg-$", run), 10000, 10000, "consumer"
				r.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{}}}
				return r
			},
			code:    func(r kmsg.Response) int16 { return r.(*kmsg.JoinGroupResponse).ErrorCode },
			allowed: kerr.MemberIDRequired}, // v4+: the first join asks for a member id
		{name: "heartbeat", key: 12, needs: []need{{opRead, resGroup, "g", groupDenied}},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrHeartbeatRequest(), 4)
				r.Group, r.MemberID, r.Generation = "g", "nobody", 1
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.HeartbeatResponse).ErrorCode }, anyAllowed: true},
		{name: "leave group", key: 13, needs: []need{{opRead, resGroup, "g", groupDenied}},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrLeaveGroupRequest(), 5)
				r.Group, r.Members = "g", []kmsg.LeaveGroupRequestMember{{MemberID: "nobody"}}
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.LeaveGroupResponse).ErrorCode }, anyAllowed: true},
		{name: "sync group", key: 14, needs: []need{{opRead, resGroup, "g", groupDenied}},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrSyncGroupRequest(), 5)
				r.Group, r.MemberID, r.Generation = "g", "nobody", 1
				r.ProtocolType, r.Protocol = kmsg.StringPtr("consumer"), kmsg.StringPtr("range")
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.SyncGroupResponse).ErrorCode }, anyAllowed: true},
		{name: "describe groups", key: 15, needs: []need{{opDescribe, resGroup, "g", groupDenied}},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrDescribeGroupsRequest(), 5)
				r.Groups, r.IncludeAuthorizedOperations = []string{"g"}, true
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.DescribeGroupsResponse).Groups[0].ErrorCode }},
		{name: "list groups", key: 16, needs: []need{{opDescribe, resGroup, "g", nil}},
			request: func(*authzFixture, string) kmsg.Request { return v(kmsg.NewPtrListGroupsRequest(), 4) },
			visible: func(r kmsg.Response) bool {
				resp := r.(*kmsg.ListGroupsResponse)
				for _, g := range resp.Groups {
					if g.Group == "g" {
						return resp.ErrorCode == 0
					}
				}
				return false
			}},
		{name: "list groups with cluster describe", key: 16, needs: []need{{opDescribe, resCluster, api.ClusterName, nil}},
			request: func(*authzFixture, string) kmsg.Request { return v(kmsg.NewPtrListGroupsRequest(), 4) },
			visible: func(r kmsg.Response) bool {
				for _, g := range r.(*kmsg.ListGroupsResponse).Groups {
					if g.Group == "g" {
						return true
					}
				}
				return false
			}},
		{name: "sasl handshake (authentication, not authorization)", key: 17,
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrSASLHandshakeRequest(), 1)
				r.Mechanism = "PLAIN"
				return r
			},
			code:    func(r kmsg.Response) int16 { return r.(*kmsg.SASLHandshakeResponse).ErrorCode },
			allowed: kerr.IllegalSaslState}, // a listener without SASL
		{name: "sasl authenticate (authentication, not authorization)", key: 36,
			request: func(*authzFixture, string) kmsg.Request { return v(kmsg.NewPtrSASLAuthenticateRequest(), 2) },
			code:    func(r kmsg.Response) int16 { return r.(*kmsg.SASLAuthenticateResponse).ErrorCode },
			allowed: kerr.IllegalSaslState},
		{name: "api versions (Kafka authorizes nothing)", key: 18,
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrApiVersionsRequest(), 3)
				r.ClientSoftwareName, r.ClientSoftwareVersion = "authz-test", "1.0"
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.ApiVersionsResponse).ErrorCode }},
		{name: "create topics", key: 19, needs: []need{{opCreate, resTopic, "ct-$", topicDenied}},
			request: func(_ *authzFixture, run string) kmsg.Request {
				r := v(kmsg.NewPtrCreateTopicsRequest(), 7)
				r.TimeoutMillis = 10000
				r.Topics = []kmsg.CreateTopicsRequestTopic{{Topic: replaceRun("ct-$", run), NumPartitions: 1, ReplicationFactor: 1}}
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode }},
		{name: "create topics with cluster create", key: 19, needs: []need{clusterNeed(opCreate).withCode(topicDenied)},
			request: func(_ *authzFixture, run string) kmsg.Request {
				r := v(kmsg.NewPtrCreateTopicsRequest(), 7)
				r.TimeoutMillis = 10000
				r.Topics = []kmsg.CreateTopicsRequestTopic{{Topic: replaceRun("cc-$", run), NumPartitions: 1, ReplicationFactor: 1}}
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode }},
		{name: "delete topics", key: 20, setup: createTopicAs("dt-$"),
			needs: []need{{opDescribe, resTopic, "dt-$", topicDenied}, {opDelete, resTopic, "dt-$", topicDenied}},
			request: func(_ *authzFixture, run string) kmsg.Request {
				r := v(kmsg.NewPtrDeleteTopicsRequest(), 5)
				r.TimeoutMillis, r.TopicNames = 10000, []string{replaceRun("dt-$", run)}
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.DeleteTopicsResponse).Topics[0].ErrorCode }},
		{name: "delete records", key: 21, needs: []need{{opDelete, resTopic, "t", topicDenied}},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrDeleteRecordsRequest(), 2)
				r.TimeoutMillis = 5000
				r.Topics = []kmsg.DeleteRecordsRequestTopic{{Topic: "t", Partitions: []kmsg.DeleteRecordsRequestTopicPartition{{Partition: 0, Offset: 0}}}}
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.DeleteRecordsResponse).Topics[0].Partitions[0].ErrorCode }},
		{name: "init producer id transactional", key: 22, needs: []need{{opWrite, resTxn, "tx-$", txnDenied}},
			request: func(_ *authzFixture, run string) kmsg.Request {
				r := v(kmsg.NewPtrInitProducerIDRequest(), 4)
				r.TransactionalID, r.TransactionTimeoutMillis, r.ProducerID, r.ProducerEpoch = kmsg.StringPtr(replaceRun("tx-$", run)), 60000, -1, -1
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.InitProducerIDResponse).ErrorCode }},
		{name: "init producer id idempotent", key: 22, needs: []need{clusterNeed(opIdemWrite)},
			request: initIdempotent, code: initProducerIDCode},
		{name: "init producer id idempotent with a topic write (KIP-679)", key: 22,
			needs: []need{{opWrite, resTopic, "t", clusterDenied}}, request: initIdempotent, code: initProducerIDCode},
		{name: "offset for leader epoch", key: 23, needs: []need{{opDescribe, resTopic, "t", topicDenied}},
			request: offsetForLeaderEpoch, code: offsetForLeaderEpochCode},
		{name: "offset for leader epoch as a replica", key: 23, needs: []need{clusterNeed(opCluster).withCode(topicDenied)},
			request: offsetForLeaderEpoch, code: offsetForLeaderEpochCode},
		{name: "add partitions to txn", key: 24,
			needs: []need{{opWrite, resTxn, "tx", txnDenied}, {opWrite, resTopic, "t", topicDenied}},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrAddPartitionsToTxnRequest(), 3)
				r.TransactionalID, r.ProducerID, r.ProducerEpoch = "tx", 999, 0
				r.Topics = []kmsg.AddPartitionsToTxnRequestTopic{{Topic: "t", Partitions: []int32{0}}}
				return r
			},
			code: func(r kmsg.Response) int16 {
				return r.(*kmsg.AddPartitionsToTxnResponse).Topics[0].Partitions[0].ErrorCode
			},
			anyAllowed: true}, // producer 999 is not tx's
		{name: "add partitions to txn v4 (brokers)", key: 24, needs: []need{clusterNeed(opCluster)},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrAddPartitionsToTxnRequest(), 4)
				r.Transactions = []kmsg.AddPartitionsToTxnRequestTransaction{{TransactionalID: "tx", ProducerID: 999, VerifyOnly: true,
					Topics: []kmsg.AddPartitionsToTxnRequestTransactionTopic{{Topic: "t", Partitions: []int32{0}}}}}
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.AddPartitionsToTxnResponse).ErrorCode }},
		{name: "add offsets to txn", key: 25,
			needs: []need{{opWrite, resTxn, "tx", txnDenied}, {opRead, resGroup, "g", groupDenied}},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrAddOffsetsToTxnRequest(), 3)
				r.TransactionalID, r.ProducerID, r.Group = "tx", 999, "g"
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.AddOffsetsToTxnResponse).ErrorCode }, anyAllowed: true},
		{name: "end txn", key: 26, needs: []need{{opWrite, resTxn, "tx", txnDenied}},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrEndTxnRequest(), 3)
				r.TransactionalID, r.ProducerID = "tx", 999
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.EndTxnResponse).ErrorCode }, anyAllowed: true},
		{name: "write txn markers", key: 27, needs: []need{clusterNeed(opCluster)},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrWriteTxnMarkersRequest(), 1)
				r.Markers = []kmsg.WriteTxnMarkersRequestMarker{{ProducerID: 999, Committed: false,
					Topics: []kmsg.WriteTxnMarkersRequestMarkerTopic{{Topic: "t", Partitions: []int32{0}}}}}
				return r
			},
			code: func(r kmsg.Response) int16 {
				return r.(*kmsg.WriteTxnMarkersResponse).Markers[0].Topics[0].Partitions[0].ErrorCode
			},
			anyAllowed: true},
		{name: "write txn markers with cluster alter", key: 27, needs: []need{clusterNeed(opAlter)},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrWriteTxnMarkersRequest(), 1)
				r.Markers = []kmsg.WriteTxnMarkersRequestMarker{{ProducerID: 999, Committed: false,
					Topics: []kmsg.WriteTxnMarkersRequestMarkerTopic{{Topic: "t", Partitions: []int32{0}}}}}
				return r
			},
			code: func(r kmsg.Response) int16 {
				return r.(*kmsg.WriteTxnMarkersResponse).Markers[0].Topics[0].Partitions[0].ErrorCode
			},
			anyAllowed: true},
		// The share coordinator's RPCs (KIP-932): brokers only. The fixture runs no share
		// coordinator, so a granted principal gets COORDINATOR_NOT_AVAILABLE.
		{name: "initialize share group state", key: 83, needs: []need{clusterNeed(opCluster)},
			request: func(*authzFixture, string) kmsg.Request {
				r := kmsg.NewPtrInitializeShareGroupStateRequest()
				r.GroupID = "sg"
				r.Topics = []kmsg.InitializeShareGroupStateRequestTopic{{TopicID: [16]byte{1}, Partitions: []kmsg.InitializeShareGroupStateRequestTopicPartition{{Partition: 0, StartOffset: 0}}}}
				return r
			},
			code: func(r kmsg.Response) int16 {
				return r.(*kmsg.InitializeShareGroupStateResponse).Topics[0].Partitions[0].ErrorCode
			},
			anyAllowed: true},
		{name: "read share group state", key: 84, needs: []need{clusterNeed(opCluster)},
			request: func(*authzFixture, string) kmsg.Request {
				r := kmsg.NewPtrReadShareGroupStateRequest()
				r.GroupID = "sg"
				r.Topics = []kmsg.ReadShareGroupStateRequestTopic{{TopicID: [16]byte{1}, Partitions: []kmsg.ReadShareGroupStateRequestTopicPartition{{Partition: 0, LeaderEpoch: -1}}}}
				return r
			},
			code: func(r kmsg.Response) int16 {
				return r.(*kmsg.ReadShareGroupStateResponse).Topics[0].Partitions[0].ErrorCode
			},
			anyAllowed: true},
		{name: "write share group state", key: 85, needs: []need{clusterNeed(opCluster)},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrWriteShareGroupStateRequest(), 1)
				r.GroupID = "sg"
				r.Topics = []kmsg.WriteShareGroupStateRequestTopic{{TopicID: [16]byte{1}, Partitions: []kmsg.WriteShareGroupStateRequestTopicPartition{{Partition: 0, StartOffset: -1}}}}
				return r
			},
			code: func(r kmsg.Response) int16 {
				return r.(*kmsg.WriteShareGroupStateResponse).Topics[0].Partitions[0].ErrorCode
			},
			anyAllowed: true},
		{name: "delete share group state", key: 86, needs: []need{clusterNeed(opCluster)},
			request: func(*authzFixture, string) kmsg.Request {
				r := kmsg.NewPtrDeleteShareGroupStateRequest()
				r.GroupID = "sg"
				r.Topics = []kmsg.DeleteShareGroupStateRequestTopic{{TopicID: [16]byte{1}, Partitions: []kmsg.DeleteShareGroupStateRequestTopicPartition{{Partition: 0}}}}
				return r
			},
			code: func(r kmsg.Response) int16 {
				return r.(*kmsg.DeleteShareGroupStateResponse).Topics[0].Partitions[0].ErrorCode
			},
			anyAllowed: true},
		{name: "read share group state summary", key: 87, needs: []need{clusterNeed(opCluster)},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrReadShareGroupStateSummaryRequest(), 1)
				r.GroupID = "sg"
				r.Topics = []kmsg.ReadShareGroupStateSummaryRequestTopic{{TopicID: [16]byte{1}, Partitions: []kmsg.ReadShareGroupStateSummaryRequestTopicPartition{{Partition: 0, LeaderEpoch: -1}}}}
				return r
			},
			code: func(r kmsg.Response) int16 {
				return r.(*kmsg.ReadShareGroupStateSummaryResponse).Topics[0].Partitions[0].ErrorCode
			},
			anyAllowed: true},
		{name: "txn offset commit", key: 28,
			needs: []need{{opWrite, resTxn, "tx", txnDenied}, {opRead, resGroup, "g", groupDenied}, {opRead, resTopic, "t", topicDenied}},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrTxnOffsetCommitRequest(), 3)
				r.TransactionalID, r.Group, r.ProducerID, r.Generation = "tx", "g", 999, -1
				r.Topics = []kmsg.TxnOffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.TxnOffsetCommitRequestTopicPartition{{Partition: 0, Offset: 0}}}}
				return r
			},
			code: func(r kmsg.Response) int16 {
				return r.(*kmsg.TxnOffsetCommitResponse).Topics[0].Partitions[0].ErrorCode
			},
			anyAllowed: true},
		{name: "describe acls", key: 29, needs: []need{clusterNeed(opDescribe)},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrDescribeACLsRequest(), 2)
				r.ResourceType, r.ResourcePatternType, r.Operation, r.PermissionType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny, kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.DescribeACLsResponse).ErrorCode }},
		{name: "create acls", key: 30, needs: []need{clusterNeed(opAlter)},
			request: func(_ *authzFixture, run string) kmsg.Request {
				r := v(kmsg.NewPtrCreateACLsRequest(), 2)
				r.Creations = []kmsg.CreateACLsRequestCreation{{ResourceType: resTopic, ResourceName: "t", ResourcePatternType: kmsg.ACLResourcePatternTypeLiteral,
					Principal: "User:" + run, Host: "*", Operation: opRead, PermissionType: kmsg.ACLPermissionTypeAllow}}
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.CreateACLsResponse).Results[0].ErrorCode }},
		{name: "delete acls", key: 31, needs: []need{clusterNeed(opAlter)},
			request: func(_ *authzFixture, run string) kmsg.Request {
				r := v(kmsg.NewPtrDeleteACLsRequest(), 2)
				r.Filters = []kmsg.DeleteACLsRequestFilter{{ResourceType: resTopic, ResourceName: kmsg.StringPtr("none-" + run),
					ResourcePatternType: kmsg.ACLResourcePatternTypeLiteral, Operation: kmsg.ACLOperationAny, PermissionType: kmsg.ACLPermissionTypeAny}}
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.DeleteACLsResponse).Results[0].ErrorCode }},
		{name: "describe topic configs", key: 32, needs: []need{{opDescCfg, resTopic, "t", topicDenied}},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrDescribeConfigsRequest(), 4)
				r.Resources = []kmsg.DescribeConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "t"}}
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.DescribeConfigsResponse).Resources[0].ErrorCode }},
		{name: "describe broker configs", key: 32, needs: []need{clusterNeed(opDescCfg)},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrDescribeConfigsRequest(), 4)
				r.Resources = []kmsg.DescribeConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeBroker, ResourceName: "1"}}
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.DescribeConfigsResponse).Resources[0].ErrorCode }},
		{name: "alter configs", key: 33, needs: []need{{opAlterCfg, resTopic, "t", topicDenied}},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrAlterConfigsRequest(), 2)
				r.ValidateOnly = true
				r.Resources = []kmsg.AlterConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "t",
					Configs: []kmsg.AlterConfigsRequestResourceConfig{{Name: "retention.ms", Value: kmsg.StringPtr("1000")}}}}
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.AlterConfigsResponse).Resources[0].ErrorCode }},
		{name: "describe log dirs", key: 35, needs: []need{clusterNeed(opDescribe)},
			request: func(*authzFixture, string) kmsg.Request { return v(kmsg.NewPtrDescribeLogDirsRequest(), 3) },
			code:    func(r kmsg.Response) int16 { return r.(*kmsg.DescribeLogDirsResponse).ErrorCode }},
		{name: "describe log dirs before v3 (no error code)", key: 35, needs: []need{clusterNeed(opDescribe)},
			request: func(*authzFixture, string) kmsg.Request { return v(kmsg.NewPtrDescribeLogDirsRequest(), 2) },
			visible: func(r kmsg.Response) bool { return len(r.(*kmsg.DescribeLogDirsResponse).Dirs) > 0 }},
		{name: "create partitions", key: 37, needs: []need{{opAlter, resTopic, "t", topicDenied}},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrCreatePartitionsRequest(), 3)
				r.TimeoutMillis, r.ValidateOnly = 10000, true
				r.Topics = []kmsg.CreatePartitionsRequestTopic{{Topic: "t", Count: 2}}
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.CreatePartitionsResponse).Topics[0].ErrorCode }},
		{name: "delete groups", key: 42, needs: []need{{opDelete, resGroup, "dg-$", groupDenied}},
			request: func(_ *authzFixture, run string) kmsg.Request {
				r := v(kmsg.NewPtrDeleteGroupsRequest(), 2)
				r.Groups = []string{replaceRun("dg-$", run)}
				return r
			},
			code:    func(r kmsg.Response) int16 { return r.(*kmsg.DeleteGroupsResponse).Groups[0].ErrorCode },
			allowed: kerr.GroupIDNotFound},
		{name: "elect leaders", key: 43, needs: []need{clusterNeed(opAlter)},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrElectLeadersRequest(), 2)
				r.TimeoutMillis = 10000
				r.Topics = []kmsg.ElectLeadersRequestTopic{{Topic: "t", Partitions: []int32{0}}}
				return r
			},
			code:    func(r kmsg.Response) int16 { return r.(*kmsg.ElectLeadersResponse).Topics[0].Partitions[0].ErrorCode },
			allowed: kerr.ElectionNotNeeded},
		{name: "incremental alter configs", key: 44, needs: []need{{opAlterCfg, resTopic, "t", topicDenied}},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrIncrementalAlterConfigsRequest(), 1)
				r.ValidateOnly = true
				r.Resources = []kmsg.IncrementalAlterConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "t",
					Configs: []kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "retention.ms", Op: kmsg.IncrementalAlterConfigOpSet, Value: kmsg.StringPtr("1000")}}}}
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.IncrementalAlterConfigsResponse).Resources[0].ErrorCode }},
		{name: "alter partition reassignments", key: 45, needs: []need{clusterNeed(opAlter)},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrAlterPartitionAssignmentsRequest(), 0)
				r.TimeoutMillis = 10000
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.AlterPartitionAssignmentsResponse).ErrorCode }},
		{name: "list partition reassignments", key: 46, needs: []need{clusterNeed(opDescribe)},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrListPartitionReassignmentsRequest(), 0)
				r.TimeoutMillis = 10000
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.ListPartitionReassignmentsResponse).ErrorCode }},
		// Share group offsets (KIP-932). The fixture's share coordinator serves them; setup
		// gives share group sg-<run> state for t-0 (an alter as the admin creates the group).
		{name: "describe share group offsets", key: 90, setup: alterShareOffsetsAs("sg-$"),
			needs: []need{{opDescribe, resGroup, "sg-$", groupDenied}, {opDescribe, resTopic, "t", topicDenied}},
			request: func(_ *authzFixture, run string) kmsg.Request {
				r := v(kmsg.NewPtrDescribeShareGroupOffsetsRequest(), 1)
				r.Groups = []kmsg.DescribeShareGroupOffsetsRequestGroup{{GroupID: replaceRun("sg-$", run),
					Topics: []kmsg.DescribeShareGroupOffsetsRequestGroupTopic{{Topic: "t", Partitions: []int32{0}}}}}
				return r
			},
			code: func(r kmsg.Response) int16 {
				g := r.(*kmsg.DescribeShareGroupOffsetsResponse).Groups[0]
				if g.ErrorCode != 0 {
					return g.ErrorCode
				}
				return g.Topics[0].Partitions[0].ErrorCode
			}},
		{name: "alter share group offsets", key: 91,
			needs: []need{{opRead, resGroup, "sg-$", groupDenied}, {opRead, resTopic, "t", topicDenied}},
			request: func(_ *authzFixture, run string) kmsg.Request {
				return alterShareOffsetsRequest(replaceRun("sg-$", run))
			},
			code: func(r kmsg.Response) int16 {
				resp := r.(*kmsg.AlterShareGroupOffsetsResponse)
				if resp.ErrorCode != 0 {
					return resp.ErrorCode
				}
				return resp.Topics[0].Partitions[0].ErrorCode
			}},
		{name: "delete share group offsets", key: 92, setup: alterShareOffsetsAs("sg-$"),
			needs: []need{{opDelete, resGroup, "sg-$", groupDenied}, {opRead, resTopic, "t", topicDenied}},
			request: func(_ *authzFixture, run string) kmsg.Request {
				r := kmsg.NewPtrDeleteShareGroupOffsetsRequest()
				r.GroupID = replaceRun("sg-$", run)
				r.Topics = []kmsg.DeleteShareGroupOffsetsRequestTopic{{Topic: "t"}}
				return r
			},
			code: func(r kmsg.Response) int16 {
				resp := r.(*kmsg.DeleteShareGroupOffsetsResponse)
				if resp.ErrorCode != 0 {
					return resp.ErrorCode
				}
				return resp.Topics[0].ErrorCode
			}},
		{name: "offset delete", key: 47,
			needs: []need{{opDelete, resGroup, "g", groupDenied}, {opRead, resTopic, "t", topicDenied}},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrOffsetDeleteRequest(), 0)
				r.Group = "g"
				r.Topics = []kmsg.OffsetDeleteRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 0}}}}
				return r
			},
			code: func(r kmsg.Response) int16 {
				resp := r.(*kmsg.OffsetDeleteResponse)
				if resp.ErrorCode != 0 {
					return resp.ErrorCode
				}
				return resp.Topics[0].Partitions[0].ErrorCode
			}},
		{name: "describe client quotas", key: 48, needs: []need{clusterNeed(opDescCfg)},
			request: func(*authzFixture, string) kmsg.Request { return v(kmsg.NewPtrDescribeClientQuotasRequest(), 1) },
			code:    func(r kmsg.Response) int16 { return r.(*kmsg.DescribeClientQuotasResponse).ErrorCode }},
		{name: "alter client quotas", key: 49, needs: []need{clusterNeed(opAlterCfg)},
			request: func(_ *authzFixture, run string) kmsg.Request {
				r := v(kmsg.NewPtrAlterClientQuotasRequest(), 1)
				r.ValidateOnly = true
				r.Entries = []kmsg.AlterClientQuotasRequestEntry{{Entity: []kmsg.AlterClientQuotasRequestEntryEntity{{Type: "user", Name: kmsg.StringPtr(run)}},
					Ops: []kmsg.AlterClientQuotasRequestEntryOp{{Key: "producer_byte_rate", Value: 1024}}}}
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.AlterClientQuotasResponse).Entries[0].ErrorCode }},
		{name: "describe user scram credentials", key: 50, needs: []need{clusterNeed(opDescribe)},
			request: func(*authzFixture, string) kmsg.Request {
				return v(kmsg.NewPtrDescribeUserSCRAMCredentialsRequest(), 0)
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.DescribeUserSCRAMCredentialsResponse).ErrorCode }},
		{name: "alter user scram credentials", key: 51, needs: []need{clusterNeed(opAlter)},
			request: func(_ *authzFixture, run string) kmsg.Request {
				r := v(kmsg.NewPtrAlterUserSCRAMCredentialsRequest(), 0)
				r.Upsertions = []kmsg.AlterUserSCRAMCredentialsRequestUpsertion{{Name: run, Mechanism: 1, Iterations: 4096,
					Salt: []byte("salt"), SaltedPassword: make([]byte, 32)}}
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.AlterUserSCRAMCredentialsResponse).Results[0].ErrorCode }},
		{name: "describe quorum", key: 55, needs: []need{clusterNeed(opDescribe)}, request: describeQuorumRequest,
			code: func(r kmsg.Response) int16 { return r.(*kmsg.DescribeQuorumResponse).ErrorCode }, anyAllowed: true}, // no quorum in the fixture
		{name: "alter partition", key: 56, controller: true, needs: []need{clusterNeed(opCluster)},
			request: func(*authzFixture, string) kmsg.Request { return v(kmsg.NewPtrAlterPartitionRequest(), 3) },
			code:    func(r kmsg.Response) int16 { return r.(*kmsg.AlterPartitionResponse).ErrorCode }, anyAllowed: true}, // no lifecycle: NOT_CONTROLLER
		{name: "update features", key: 57, needs: []need{clusterNeed(opAlter)},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrUpdateFeaturesRequest(), 1)
				r.TimeoutMillis = 10000
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.UpdateFeaturesResponse).ErrorCode }},
		{name: "envelope", key: 58, controller: true, needs: []need{clusterNeed(opCluster)},
			request: func(_ *authzFixture, run string) kmsg.Request {
				return envelope(run, "admin", envelopeCreateTopics(replaceRun("env-$", run)))
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.EnvelopeResponse).ErrorCode }},
		{name: "describe cluster (Kafka refuses nothing on brokers)", key: 60, needs: []need{clusterNeed(opDescribe)},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrDescribeClusterRequest(), 1)
				r.EndpointType, r.IncludeClusterAuthorizedOperations = 1, true
				return r
			},
			visible: func(r kmsg.Response) bool {
				resp := r.(*kmsg.DescribeClusterResponse)
				return resp.ErrorCode == 0 && len(resp.Brokers) > 0 && resp.ClusterAuthorizedOperations != 0
			}},
		{name: "describe cluster on the controller", key: 60, controller: true, needs: []need{clusterNeed(opAlter)},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrDescribeClusterRequest(), 1)
				r.EndpointType = 2
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.DescribeClusterResponse).ErrorCode }, anyAllowed: true}, // no quorum in the fixture
		{name: "describe producers", key: 61, needs: []need{{opRead, resTopic, "t", topicDenied}},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrDescribeProducersRequest(), 0)
				r.Topics = []kmsg.DescribeProducersRequestTopic{{Topic: "t", Partitions: []int32{0}}}
				return r
			},
			code: func(r kmsg.Response) int16 {
				return r.(*kmsg.DescribeProducersResponse).Topics[0].Partitions[0].ErrorCode
			}},
		{name: "broker registration", key: 62, controller: true, needs: []need{clusterNeed(opCluster)},
			request: func(*authzFixture, string) kmsg.Request { return v(kmsg.NewPtrBrokerRegistrationRequest(), 3) },
			code:    func(r kmsg.Response) int16 { return r.(*kmsg.BrokerRegistrationResponse).ErrorCode }, anyAllowed: true},
		{name: "broker heartbeat", key: 63, controller: true, needs: []need{clusterNeed(opCluster)},
			request: func(*authzFixture, string) kmsg.Request { return v(kmsg.NewPtrBrokerHeartbeatRequest(), 1) },
			code:    func(r kmsg.Response) int16 { return r.(*kmsg.BrokerHeartbeatResponse).ErrorCode }, anyAllowed: true},
		{name: "describe transactions", key: 65, needs: []need{{opDescribe, resTxn, "tx", txnDenied}},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrDescribeTransactionsRequest(), 0)
				r.TransactionalIDs = []string{"tx"}
				return r
			},
			code: func(r kmsg.Response) int16 {
				return r.(*kmsg.DescribeTransactionsResponse).TransactionStates[0].ErrorCode
			}},
		{name: "describe transactions lists describable topics", key: 65,
			needs: []need{{opDescribe, resTxn, "tx", nil}, {opDescribe, resTopic, "t", nil}},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrDescribeTransactionsRequest(), 0)
				r.TransactionalIDs = []string{"tx"}
				return r
			},
			visible: func(r kmsg.Response) bool {
				s := r.(*kmsg.DescribeTransactionsResponse).TransactionStates[0]
				return s.ErrorCode == 0 && len(s.Topics) == 1 && s.Topics[0].Topic == "t"
			}},
		{name: "list transactions", key: 66, needs: []need{{opDescribe, resTxn, "tx", nil}},
			request: func(*authzFixture, string) kmsg.Request { return v(kmsg.NewPtrListTransactionsRequest(), 1) },
			visible: func(r kmsg.Response) bool {
				for _, s := range r.(*kmsg.ListTransactionsResponse).TransactionStates {
					if s.TransactionalID == "tx" {
						return true
					}
				}
				return false
			}},
		{name: "allocate producer ids", key: 67, controller: true, needs: []need{clusterNeed(opCluster)},
			request: func(*authzFixture, string) kmsg.Request { return v(kmsg.NewPtrAllocateProducerIDsRequest(), 0) },
			code:    func(r kmsg.Response) int16 { return r.(*kmsg.AllocateProducerIDsResponse).ErrorCode }, anyAllowed: true},
		{name: "consumer group heartbeat", key: 68,
			needs: []need{{opRead, resGroup, "cg-$", groupDenied}, {opDescribe, resTopic, "t", topicDenied}},
			request: func(_ *authzFixture, run string) kmsg.Request {
				r := v(kmsg.NewPtrConsumerGroupHeartbeatRequest(), 0)
				r.Group, r.MemberEpoch, r.RebalanceTimeoutMillis = replaceRun("cg-$", run), 0, 10000
				r.SubscribedTopicNames, r.Topics = []string{"t"}, []kmsg.ConsumerGroupHeartbeatRequestTopic{}
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.ConsumerGroupHeartbeatResponse).ErrorCode }},
		{name: "consumer group describe", key: 69, needs: []need{{opDescribe, resGroup, "g", groupDenied}},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrConsumerGroupDescribeRequest(), 0)
				r.Groups = []string{"g"}
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.ConsumerGroupDescribeResponse).Groups[0].ErrorCode }, anyAllowed: true},
		{name: "share group heartbeat", key: 76,
			needs: []need{{opRead, resGroup, "sg-$", groupDenied}, {opDescribe, resTopic, "t", topicDenied}},
			request: func(_ *authzFixture, run string) kmsg.Request {
				r := v(kmsg.NewPtrShareGroupHeartbeatRequest(), 1)
				r.GroupID, r.MemberID, r.MemberEpoch = replaceRun("sg-$", run), "m-"+run, 0
				r.SubscribedTopicNames = []string{"t"}
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.ShareGroupHeartbeatResponse).ErrorCode }},
		{name: "share group describe", key: 77, needs: []need{{opDescribe, resGroup, "g", groupDenied}},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrShareGroupDescribeRequest(), 1)
				r.GroupIDs = []string{"g"}
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.ShareGroupDescribeResponse).Groups[0].ErrorCode }, anyAllowed: true},
		{name: "list config resources", key: 74, needs: []need{clusterNeed(opDescCfg)},
			request: func(*authzFixture, string) kmsg.Request { return v(kmsg.NewPtrListConfigResourcesRequest(), 1) },
			code:    func(r kmsg.Response) int16 { return r.(*kmsg.ListConfigResourcesResponse).ErrorCode }},
		{name: "describe topic partitions", key: 75, needs: []need{{opDescribe, resTopic, "t", topicDenied}},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrDescribeTopicPartitionsRequest(), 0)
				r.Topics, r.ResponsePartitionLimit = []kmsg.DescribeTopicPartitionsRequestTopic{{Topic: "t"}}, 100
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.DescribeTopicPartitionsResponse).Topics[0].ErrorCode }},
		{name: "share fetch", key: 78,
			needs: []need{{opRead, resGroup, "sg-$", groupDenied}, {opRead, resTopic, "t", topicDenied}},
			request: func(f *authzFixture, run string) kmsg.Request {
				t, _ := f.Image().Topic("t")
				r := v(kmsg.NewPtrShareFetchRequest(), 1)
				r.GroupID, r.MemberID = kmsg.StringPtr(replaceRun("sg-$", run)), kmsg.StringPtr("member-1")
				r.MaxRecords, r.BatchSize = 10, 10
				r.Topics = []kmsg.ShareFetchRequestTopic{{TopicID: t.ID, Partitions: []kmsg.ShareFetchRequestTopicPartition{{Partition: 0}}}}
				return r
			},
			code: shareFetchCode},
		// A share session closes with the connection that opened it, and each row's request
		// comes on a new connection, so no session exists: READ on the topic is checked per
		// partition after the session (TestShareAcknowledgeTopicAuthorization, one connection).
		{name: "share acknowledge", key: 79, needs: []need{{opRead, resGroup, "sg-$", groupDenied}},
			request: func(f *authzFixture, run string) kmsg.Request {
				t, _ := f.Image().Topic("t")
				r := v(kmsg.NewPtrShareAcknowledgeRequest(), 1)
				r.GroupID, r.MemberID, r.ShareSessionEpoch = kmsg.StringPtr(replaceRun("sg-$", run)), kmsg.StringPtr("member-1"), 1
				r.Topics = []kmsg.ShareAcknowledgeRequestTopic{{TopicID: t.ID, Partitions: []kmsg.ShareAcknowledgeRequestTopicPartition{{Partition: 0,
					AcknowledgementBatches: []kmsg.ShareAcknowledgeRequestTopicPartitionAcknowledgementBatch{{FirstOffset: 0, LastOffset: 0, AcknowledgeTypes: []int8{1}}}}}}}
				return r
			},
			code:    func(r kmsg.Response) int16 { return r.(*kmsg.ShareAcknowledgeResponse).ErrorCode },
			allowed: kerr.ShareSessionNotFound},
		{name: "add raft voter", key: 80, needs: []need{clusterNeed(opAlter)},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrAddRaftVoterRequest(), 0)
				r.VoterID, r.TimeoutMillis = 9, 1000
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.AddRaftVoterResponse).ErrorCode }, anyAllowed: true},
		{name: "remove raft voter", key: 81, needs: []need{clusterNeed(opAlter)},
			request: func(*authzFixture, string) kmsg.Request {
				r := v(kmsg.NewPtrRemoveRaftVoterRequest(), 0)
				r.VoterID = 9
				return r
			},
			code: func(r kmsg.Response) int16 { return r.(*kmsg.RemoveRaftVoterResponse).ErrorCode }, anyAllowed: true},
	}
}

// withCode is n answered with code instead when missing.
func (n need) withCode(code *kerr.Error) need {
	n.code = code
	return n
}

func initIdempotent(*authzFixture, string) kmsg.Request {
	r := v(kmsg.NewPtrInitProducerIDRequest(), 4)
	r.TransactionTimeoutMillis, r.ProducerID, r.ProducerEpoch = 60000, -1, -1
	return r
}

func initProducerIDCode(r kmsg.Response) int16 { return r.(*kmsg.InitProducerIDResponse).ErrorCode }

func offsetForLeaderEpoch(*authzFixture, string) kmsg.Request {
	r := v(kmsg.NewPtrOffsetForLeaderEpochRequest(), 4)
	r.ReplicaID = -1
	r.Topics = []kmsg.OffsetForLeaderEpochRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetForLeaderEpochRequestTopicPartition{{Partition: 0, CurrentLeaderEpoch: -1, LeaderEpoch: 0}}}}
	return r
}

func offsetForLeaderEpochCode(r kmsg.Response) int16 {
	return r.(*kmsg.OffsetForLeaderEpochResponse).Topics[0].Partitions[0].ErrorCode
}

func describeQuorumRequest(*authzFixture, string) kmsg.Request {
	r := v(kmsg.NewPtrDescribeQuorumRequest(), 1)
	r.Topics = []kmsg.DescribeQuorumRequestTopic{{Topic: "__cluster_metadata", Partitions: []kmsg.DescribeQuorumRequestTopicPartition{{Partition: 0}}}}
	return r
}

func envelopeCreateTopics(name string) *kmsg.CreateTopicsRequest {
	r := v(kmsg.NewPtrCreateTopicsRequest(), 7)
	r.TimeoutMillis = 10000
	r.Topics = []kmsg.CreateTopicsRequestTopic{{Topic: name, NumPartitions: 1, ReplicationFactor: 1}}
	return r
}

// envelope wraps inner, as sent by the client clientID, in an Envelope for principal
// "User:<principal>".
func envelope(clientID, principal string, inner kmsg.Request) *kmsg.EnvelopeRequest {
	e := v(kmsg.NewPtrEnvelopeRequest(), 0)
	e.RequestData = kmsg.NewRequestFormatter(kmsg.FormatterClientID(clientID)).AppendRequest(nil, inner, 7)[4:]
	e.RequestPrincipal = api.EncodePrincipal("User:" + principal)
	e.ClientHostAddress = []byte{127, 0, 0, 1}
	return e
}

// shareFetchCode is a ShareFetch answer's top-level code, else its first partition's.
func shareFetchCode(r kmsg.Response) int16 {
	f := r.(*kmsg.ShareFetchResponse)
	if f.ErrorCode != 0 || len(f.Topics) == 0 || len(f.Topics[0].Partitions) == 0 {
		return f.ErrorCode
	}
	return f.Topics[0].Partitions[0].ErrorCode
}
