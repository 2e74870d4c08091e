package metrics

import "github.com/twmb/franz-go/pkg/kmsg"

// eachErrorCode calls fn for every non-zero error code in resp: the top-level code and those of
// each topic, partition, group or resource, as Kafka's errorCounts does. It reports whether it
// knows resp's type; TestEveryRegisteredAPIHasErrorCodes fails when an API registered in
// internal/api has no case here.
func eachErrorCode(resp kmsg.Response, fn func(code int16)) bool {
	emit := func(code int16) {
		if code != 0 {
			fn(code)
		}
	}
	switch r := resp.(type) {
	case *kmsg.ProduceResponse:
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				emit(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.FetchResponse:
		emit(r.ErrorCode)
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				emit(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.ListOffsetsResponse:
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				emit(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.MetadataResponse:
		for i := range r.Topics {
			emit(r.Topics[i].ErrorCode)
			for j := range r.Topics[i].Partitions {
				emit(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.OffsetForLeaderEpochResponse:
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				emit(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.DeleteRecordsResponse:
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				emit(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.ApiVersionsResponse:
		emit(r.ErrorCode)
	case *kmsg.CreateTopicsResponse:
		for i := range r.Topics {
			emit(r.Topics[i].ErrorCode)
		}
	case *kmsg.DeleteTopicsResponse:
		for i := range r.Topics {
			emit(r.Topics[i].ErrorCode)
		}
	case *kmsg.CreatePartitionsResponse:
		for i := range r.Topics {
			emit(r.Topics[i].ErrorCode)
		}
	case *kmsg.DescribeConfigsResponse:
		for i := range r.Resources {
			emit(r.Resources[i].ErrorCode)
		}
	case *kmsg.AlterConfigsResponse:
		for i := range r.Resources {
			emit(r.Resources[i].ErrorCode)
		}
	case *kmsg.IncrementalAlterConfigsResponse:
		for i := range r.Resources {
			emit(r.Resources[i].ErrorCode)
		}
	case *kmsg.DescribeClusterResponse:
		emit(r.ErrorCode)
	case *kmsg.EnvelopeResponse:
		emit(r.ErrorCode)
	case *kmsg.DescribeQuorumResponse:
		emit(r.ErrorCode)
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				emit(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.AddRaftVoterResponse:
		emit(r.ErrorCode)
	case *kmsg.RemoveRaftVoterResponse:
		emit(r.ErrorCode)
	case *kmsg.BrokerRegistrationResponse:
		emit(r.ErrorCode)
	case *kmsg.BrokerHeartbeatResponse:
		emit(r.ErrorCode)
	case *kmsg.AllocateProducerIDsResponse:
		emit(r.ErrorCode)
	case *kmsg.ElectLeadersResponse:
		emit(r.ErrorCode)
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				emit(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.AlterPartitionAssignmentsResponse:
		emit(r.ErrorCode)
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				emit(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.ListPartitionReassignmentsResponse:
		emit(r.ErrorCode)
	case *kmsg.AlterPartitionResponse:
		emit(r.ErrorCode)
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				emit(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.UpdateFeaturesResponse:
		emit(r.ErrorCode)
		for i := range r.Results {
			emit(r.Results[i].ErrorCode)
		}
	case *kmsg.InitProducerIDResponse:
		emit(r.ErrorCode)
	case *kmsg.AddPartitionsToTxnResponse:
		emit(r.ErrorCode)
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				emit(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
		for i := range r.Transactions {
			for j := range r.Transactions[i].Topics {
				for k := range r.Transactions[i].Topics[j].Partitions {
					emit(r.Transactions[i].Topics[j].Partitions[k].ErrorCode)
				}
			}
		}
	case *kmsg.AddOffsetsToTxnResponse:
		emit(r.ErrorCode)
	case *kmsg.EndTxnResponse:
		emit(r.ErrorCode)
	case *kmsg.WriteTxnMarkersResponse:
		for i := range r.Markers {
			for j := range r.Markers[i].Topics {
				for k := range r.Markers[i].Topics[j].Partitions {
					emit(r.Markers[i].Topics[j].Partitions[k].ErrorCode)
				}
			}
		}
	case *kmsg.TxnOffsetCommitResponse:
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				emit(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.DescribeTransactionsResponse:
		for i := range r.TransactionStates {
			emit(r.TransactionStates[i].ErrorCode)
		}
	case *kmsg.ListTransactionsResponse:
		emit(r.ErrorCode)
	case *kmsg.FindCoordinatorResponse:
		emit(r.ErrorCode)
		for i := range r.Coordinators {
			emit(r.Coordinators[i].ErrorCode)
		}
	case *kmsg.JoinGroupResponse:
		emit(r.ErrorCode)
	case *kmsg.SyncGroupResponse:
		emit(r.ErrorCode)
	case *kmsg.HeartbeatResponse:
		emit(r.ErrorCode)
	case *kmsg.LeaveGroupResponse:
		emit(r.ErrorCode)
		for i := range r.Members {
			emit(r.Members[i].ErrorCode)
		}
	case *kmsg.OffsetCommitResponse:
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				emit(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.OffsetFetchResponse:
		emit(r.ErrorCode)
		for i := range r.Groups {
			emit(r.Groups[i].ErrorCode)
		}
	case *kmsg.DescribeLogDirsResponse:
		emit(r.ErrorCode)
		for i := range r.Dirs {
			emit(r.Dirs[i].ErrorCode)
		}
	case *kmsg.ListConfigResourcesResponse:
		emit(r.ErrorCode)
	case *kmsg.DescribeTopicPartitionsResponse:
		for i := range r.Topics {
			emit(r.Topics[i].ErrorCode)
		}
	case *kmsg.DescribeGroupsResponse:
		for i := range r.Groups {
			emit(r.Groups[i].ErrorCode)
		}
	case *kmsg.DescribeProducersResponse:
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				emit(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.ConsumerGroupHeartbeatResponse:
		emit(r.ErrorCode)
	case *kmsg.ShareFetchResponse:
		emit(r.ErrorCode)
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				emit(r.Topics[i].Partitions[j].ErrorCode)
				emit(r.Topics[i].Partitions[j].AcknowledgeErrorCode)
			}
		}
	case *kmsg.ShareAcknowledgeResponse:
		emit(r.ErrorCode)
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				emit(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.ConsumerGroupDescribeResponse:
		for i := range r.Groups {
			emit(r.Groups[i].ErrorCode)
		}
	case *kmsg.ShareGroupHeartbeatResponse:
		emit(r.ErrorCode)
	case *kmsg.ShareGroupDescribeResponse:
		for i := range r.Groups {
			emit(r.Groups[i].ErrorCode)
		}
	case *kmsg.ListGroupsResponse:
		emit(r.ErrorCode)
	case *kmsg.DeleteGroupsResponse:
		for i := range r.Groups {
			emit(r.Groups[i].ErrorCode)
		}
	case *kmsg.OffsetDeleteResponse:
		emit(r.ErrorCode)
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				emit(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.SASLHandshakeResponse:
		emit(r.ErrorCode)
	case *kmsg.SASLAuthenticateResponse:
		emit(r.ErrorCode)
	case *kmsg.DescribeClientQuotasResponse:
		emit(r.ErrorCode)
	case *kmsg.AlterClientQuotasResponse:
		for i := range r.Entries {
			emit(r.Entries[i].ErrorCode)
		}
	case *kmsg.DescribeACLsResponse:
		emit(r.ErrorCode)
	case *kmsg.CreateACLsResponse:
		for i := range r.Results {
			emit(r.Results[i].ErrorCode)
		}
	case *kmsg.DeleteACLsResponse:
		for i := range r.Results {
			emit(r.Results[i].ErrorCode)
			for j := range r.Results[i].MatchingACLs {
				emit(r.Results[i].MatchingACLs[j].ErrorCode)
			}
		}
	case *kmsg.DescribeUserSCRAMCredentialsResponse:
		emit(r.ErrorCode)
		for i := range r.Results {
			emit(r.Results[i].ErrorCode)
		}
	case *kmsg.AlterUserSCRAMCredentialsResponse:
		for i := range r.Results {
			emit(r.Results[i].ErrorCode)
		}
	// The share coordinator's RPCs and the share group offset APIs (KIP-932).
	case *kmsg.InitializeShareGroupStateResponse:
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				emit(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.ReadShareGroupStateResponse:
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				emit(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.WriteShareGroupStateResponse:
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				emit(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.DeleteShareGroupStateResponse:
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				emit(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.ReadShareGroupStateSummaryResponse:
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				emit(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.DescribeShareGroupOffsetsResponse:
		for i := range r.Groups {
			emit(r.Groups[i].ErrorCode)
			for j := range r.Groups[i].Topics {
				for k := range r.Groups[i].Topics[j].Partitions {
					emit(r.Groups[i].Topics[j].Partitions[k].ErrorCode)
				}
			}
		}
	case *kmsg.AlterShareGroupOffsetsResponse:
		emit(r.ErrorCode)
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				emit(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.DeleteShareGroupOffsetsResponse:
		emit(r.ErrorCode)
		for i := range r.Topics {
			emit(r.Topics[i].ErrorCode)
		}
	default:
		return false
	}
	return true
}
