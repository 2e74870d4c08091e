package group

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sluicehq/sluice/internal/metadata"
)

// TestConsumerGroupChurn drives a consumer group through random joins, leaves, subscription
// changes, new topics and partitions, and lost heartbeat responses, checking after every step
// that no partition is owned by two members; at the end the group settles with every
// subscribed partition owned by exactly one subscriber.
func TestConsumerGroupChurn(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 42))
			assignor := []string{"uniform", "range"}[seed%2]
			c := newConsumerCoordinator(t, Config{ConsumerAssignors: []string{assignor}})
			topics := map[string]int{"a": 3, "b": 2}
			img := topicsImage(t, topics)
			var clients []*consumerClient
			next := 0
			pickTopics := func() []string {
				var out []string
				for name := range topics {
					if rng.IntN(3) > 0 {
						out = append(out, name)
					}
				}
				if len(out) == 0 {
					out = append(out, "a")
				}
				slices.Sort(out)
				return out
			}
			for step := 0; step < 300; step++ {
				switch op := rng.IntN(20); {
				case op < 2 || len(clients) == 0:
					cc := newConsumerClient(t, c, fmt.Sprint("m", next), pickTopics()...)
					next++
					clients = append(clients, cc)
					cc.beat(img)
				case op < 3:
					i := rng.IntN(len(clients))
					clients[i].leave()
					clients = slices.Delete(clients, i, i+1)
				case op < 4:
					clients[rng.IntN(len(clients))].topics = pickTopics()
				case op < 5:
					if len(topics) < 5 && rng.IntN(2) == 0 {
						topics[fmt.Sprint("t", step)] = 1 + rng.IntN(3)
					} else {
						topics["a"]++
					}
					img = topicsImage(t, topics)
				case op < 7:
					// The response is lost: the client keeps its old view.
					cc := clients[rng.IntN(len(clients))]
					if res := c.ConsumerHeartbeat(context.Background(), cc.request(img)); res.Err != nil && !errors.Is(res.Err, ErrFencedMemberEpoch) {
						t.Fatalf("step %d: heartbeat with a lost response: %v", step, res.Err)
					}
				default:
					beatOrRejoin(t, c, clients[rng.IntN(len(clients))], img)
				}
				checkDisjoint(t, clients)
			}
			for round := 0; ; round++ {
				if round == 20 {
					t.Fatal("group did not settle in 20 rounds")
				}
				changed := false
				for _, cc := range clients {
					before, epoch := cc.owned.clone(), cc.epoch
					beatOrRejoin(t, c, cc, img)
					changed = changed || !before.equal(cc.owned) || epoch != cc.epoch
					checkDisjoint(t, clients)
				}
				if !changed {
					break
				}
			}
			owner := map[partitionKey]*consumerClient{}
			for _, cc := range clients {
				for tp, ps := range cc.owned {
					for _, p := range ps {
						owner[partitionKey{tp, p}] = cc
					}
				}
			}
			for name, n := range topics {
				subscribed := false
				for _, cc := range clients {
					subscribed = subscribed || slices.Contains(cc.topics, name)
				}
				for p := range n {
					o := owner[partitionKey{topicIDOf(name), int32(p)}]
					switch {
					case subscribed && o == nil:
						t.Fatalf("%s-%d owned by nobody after settling", name, p)
					case o != nil && !slices.Contains(o.topics, name):
						t.Fatalf("%s-%d owned by %s, which does not subscribe to it", name, p, o.id)
					}
				}
			}
		})
	}
}

// beatOrRejoin sends a full heartbeat and applies the answer; a fenced member abandons its
// partitions and rejoins with epoch 0, as clients do.
func beatOrRejoin(t *testing.T, c *Coordinator, cc *consumerClient, img *metadata.Image) {
	t.Helper()
	res := c.ConsumerHeartbeat(context.Background(), cc.request(img))
	switch {
	case errors.Is(res.Err, ErrFencedMemberEpoch):
		cc.owned, cc.epoch = Assignment{}, 0
		cc.beat(img)
	case res.Err != nil:
		t.Fatalf("heartbeat of %s: %v", cc.id, res.Err)
	default:
		cc.epoch = res.MemberEpoch
		if res.Assignment != nil {
			cc.owned = res.Assignment
		}
	}
}
