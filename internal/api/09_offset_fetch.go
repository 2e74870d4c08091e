package api

import (
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/group"
	"github.com/sluicehq/sluice/internal/metadata"
)

// OffsetFetch: v0–10 (v0 is legacy: Kafka 4 removed it, KIP-896; API.LegacyBelow)
//
// Behavior:
//   - Returns each partition's committed offset, leader epoch and metadata; a partition
//     without a commit has offset -1, leader epoch -1 and empty metadata. Null topics (v2+)
//     means every partition the group has committed.
//   - require_stable (v7+): a partition whose offset has a transactional commit awaiting its
//     marker answers UNSTABLE_OFFSET_COMMIT (offset -1), so the consumer retries until the
//     transaction ends (KIP-447); without require_stable the last committed offset is returned.
//
//   - Authorization: Describe on each group (else GROUP_AUTHORIZATION_FAILED for it);
//     Describe on each topic: unlisted when all offsets are asked for, else
//     TOPIC_AUTHORIZATION_FAILED for its partitions.
//
// Version notes:
//   - v0: answered as v1, from the group's commits (creating __consumer_offsets first if it does
//     not exist: v0 clients never send FindCoordinator). Kafka 3.9 read v0 fetches from ZooKeeper
//     (and refused them in KRaft mode); Sluice stores OffsetCommit v0 with the group, so a
//     v0 client reads back what it committed.
//   - v2: null topics, top-level error code. v5: leader epoch. v6: flexible. v7:
//     require_stable. v8: several groups per request. v9: member id and epoch (KIP-848): a consumer
//     group member must give its current epoch (UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH for the
//     group); admin tools send no member and epoch -1; ignored for classic groups. v10: topics by id.

func init() {
	Register(API{Key: 9, MinVersion: 0, LegacyBelow: 1, MaxVersion: 10, Handle: handleOffsetFetch})
}

func handleOffsetFetch(_ context.Context, env *Env, req *Request) (Response, error) {
	if req.Version == 0 { // legacy: its clients never send FindCoordinator (offsets_legacy.go)
		return withOffsetsTopic(env, func() (Response, error) { return offsetFetch(env, req) })
	}
	return offsetFetch(env, req)
}

func offsetFetch(env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.OffsetFetchRequest)
	resp := r.ResponseKind().(*kmsg.OffsetFetchResponse)
	img := env.Metadata.Image()
	if req.Version < 8 {
		var topics []kmsg.OffsetFetchRequestGroupTopic
		for _, t := range r.Topics {
			gt := kmsg.NewOffsetFetchRequestGroupTopic()
			gt.Topic, gt.Partitions = t.Topic, t.Partitions
			topics = append(topics, gt)
		}
		g := fetchGroupOffsets(env, req, img, r.Group, topics, r.Topics == nil)
		markUnstable(env, img, &g, r.RequireStable)
		resp.ErrorCode = g.ErrorCode
		if g.ErrorCode != 0 && req.Version < 2 {
			// No top-level error before v2: each requested partition carries it, as in Kafka.
			g.Topics = groupErrorPartitions(topics, g.ErrorCode)
		}
		for _, gt := range g.Topics {
			t := kmsg.NewOffsetFetchResponseTopic()
			t.Topic = gt.Topic
			for _, gp := range gt.Partitions {
				p := kmsg.NewOffsetFetchResponseTopicPartition()
				p.Partition, p.Offset, p.LeaderEpoch, p.Metadata, p.ErrorCode = gp.Partition, gp.Offset, gp.LeaderEpoch, gp.Metadata, gp.ErrorCode
				t.Partitions = append(t.Partitions, p)
			}
			resp.Topics = append(resp.Topics, t)
		}
		return Reply(resp), nil
	}
	for _, rg := range r.Groups {
		if req.Version >= 9 && groupStatus(env, rg.Group) == nil && env.Authorize(req, opDescribe, resGroup, rg.Group) {
			member := ""
			if rg.MemberID != nil {
				member = *rg.MemberID
			}
			if err := env.Groups.CheckOffsetFetch(rg.Group, member, rg.MemberEpoch); err != nil {
				g := kmsg.NewOffsetFetchResponseGroup()
				g.Group, g.ErrorCode = rg.Group, groupErrorCode(err)
				resp.Groups = append(resp.Groups, g)
				continue
			}
		}
		g := fetchGroupOffsets(env, req, img, rg.Group, rg.Topics, rg.Topics == nil)
		markUnstable(env, img, &g, r.RequireStable)
		resp.Groups = append(resp.Groups, g)
	}
	return Reply(resp), nil
}

// fetchGroupOffsets answers one group in the v8+ shape; older versions convert it.
// Offsets of topics the principal may not Describe are left out when all are asked for and
// answered TOPIC_AUTHORIZATION_FAILED when named.
func fetchGroupOffsets(env *Env, req *Request, img *metadata.Image, groupID string, topics []kmsg.OffsetFetchRequestGroupTopic, all bool) kmsg.OffsetFetchResponseGroup {
	version := req.Version
	g := kmsg.NewOffsetFetchResponseGroup()
	g.Group = groupID
	if !env.Authorize(req, opDescribe, resGroup, groupID) {
		g.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return g
	}
	if err := groupStatus(env, groupID); err != nil {
		g.ErrorCode = groupErrorCode(err)
		return g
	}
	if all {
		byTopic := map[string][]group.OffsetCommit{}
		for _, o := range env.Groups.FetchAllOffsets(groupID) {
			byTopic[o.Topic] = append(byTopic[o.Topic], o)
		}
		names := make([]string, 0, len(byTopic))
		for name := range byTopic {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			if !env.Authorize(req, opDescribe, resTopic, name) {
				continue
			}
			gt := kmsg.NewOffsetFetchResponseGroupTopic()
			gt.Topic = name
			if t, ok := img.Topic(name); ok {
				gt.TopicID = t.ID
			} else if version >= 10 {
				continue // no id to name it by
			}
			offs := byTopic[name]
			slices.SortFunc(offs, func(a, b group.OffsetCommit) int { return int(a.Partition) - int(b.Partition) })
			for _, o := range offs {
				gt.Partitions = append(gt.Partitions, offsetFetchPartition(o, true))
			}
			g.Topics = append(g.Topics, gt)
		}
		return g
	}
	for _, rt := range topics {
		gt := kmsg.NewOffsetFetchResponseGroupTopic()
		gt.Topic, gt.TopicID = rt.Topic, rt.TopicID
		name, code := rt.Topic, int16(0)
		if version >= 10 {
			if t, ok := img.TopicByID(metadata.TopicID(rt.TopicID)); ok {
				name = t.Name
			} else {
				code = kerr.UnknownTopicID.Code
			}
		}
		if code == 0 && !env.Authorize(req, opDescribe, resTopic, name) {
			code = kerr.TopicAuthorizationFailed.Code
		}
		for _, p := range rt.Partitions {
			o, ok := env.Groups.FetchOffset(groupID, name, p)
			o.Partition = p
			gp := offsetFetchPartition(o, ok && code == 0)
			gp.ErrorCode = code
			gt.Partitions = append(gt.Partitions, gp)
		}
		g.Topics = append(g.Topics, gt)
	}
	return g
}

// markUnstable answers UNSTABLE_OFFSET_COMMIT for the partitions of g whose offsets have a
// pending transactional commit, when the request requires stable offsets.
func markUnstable(env *Env, img *metadata.Image, g *kmsg.OffsetFetchResponseGroup, requireStable bool) {
	groups, ok := env.Groups.(TxnGroups)
	if !requireStable || !ok || g.ErrorCode != 0 {
		return
	}
	for i := range g.Topics {
		t := &g.Topics[i]
		name := t.Topic
		if topic, ok := img.TopicByID(metadata.TopicID(t.TopicID)); ok && name == "" { // v10: by id
			name = topic.Name
		}
		for j := range t.Partitions {
			p := &t.Partitions[j]
			if p.ErrorCode == 0 && groups.HasPendingTxnOffsets(g.Group, name, p.Partition) {
				p.ErrorCode, p.Offset, p.LeaderEpoch = kerr.UnstableOffsetCommit.Code, -1, -1
			}
		}
	}
}

func offsetFetchPartition(o group.OffsetCommit, committed bool) kmsg.OffsetFetchResponseGroupTopicPartition {
	p := kmsg.NewOffsetFetchResponseGroupTopicPartition()
	p.Partition, p.Offset, p.LeaderEpoch, p.Metadata = o.Partition, -1, -1, kmsg.StringPtr("")
	if committed {
		p.Offset, p.LeaderEpoch, p.Metadata = o.Offset, o.LeaderEpoch, kmsg.StringPtr(o.Metadata)
	}
	return p
}

// groupErrorPartitions answers every requested partition with a group-level error code.
func groupErrorPartitions(topics []kmsg.OffsetFetchRequestGroupTopic, code int16) []kmsg.OffsetFetchResponseGroupTopic {
	out := make([]kmsg.OffsetFetchResponseGroupTopic, 0, len(topics))
	for _, t := range topics {
		gt := kmsg.NewOffsetFetchResponseGroupTopic()
		gt.Topic = t.Topic
		for _, p := range t.Partitions {
			gp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
			gp.Partition, gp.Offset, gp.LeaderEpoch, gp.ErrorCode = p, -1, -1, code
			gt.Partitions = append(gt.Partitions, gp)
		}
		out = append(out, gt)
	}
	return out
}
