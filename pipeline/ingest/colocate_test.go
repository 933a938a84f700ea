package ingest_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/livepulse/livepulse/pipeline/ingest"
	"github.com/livepulse/livepulse/pipeline/testenv"
)

var eventTopics = []string{"livepulse.viewer", "livepulse.order", "livepulse.refund"}

// colocated checks that every member holds the same partition numbers of every topic, and that
// every partition of every topic has exactly one owner.
func colocated(a kafka.GroupMemberAssignments, partitions int) error {
	owner := make(map[string]map[int]string)
	for member, byTopic := range a {
		var first []int
		for i, topic := range eventTopics {
			ids := slices.Sorted(slices.Values(byTopic[topic]))
			if i == 0 {
				first = ids
			} else if !slices.Equal(ids, first) {
				return fmt.Errorf("member %s holds %s %v but %s %v", member, eventTopics[0], first, topic, ids)
			}
			for _, id := range ids {
				if owner[topic] == nil {
					owner[topic] = make(map[int]string)
				}
				if o, dup := owner[topic][id]; dup {
					return fmt.Errorf("%s/%d owned by %s and %s", topic, id, o, member)
				}
				owner[topic][id] = member
			}
		}
	}
	for _, topic := range eventTopics {
		if len(owner[topic]) != partitions {
			return fmt.Errorf("%s: %d of %d partitions owned", topic, len(owner[topic]), partitions)
		}
	}
	return nil
}

// TestCoLocatingBalancer: members join and leave; whatever order the metadata lists partitions
// in, partition p of the three topics stays on one member. kafka-go's Range balancer, given the
// same shuffled metadata, does not (which is why livepulse does not rely on it alone).
func TestCoLocatingBalancer(t *testing.T) {
	const partitions = 12
	rng := rand.New(rand.NewPCG(1, 2))
	var rangeBroke bool
	for _, ids := range [][]string{{"a"}, {"a", "b"}, {"a", "b", "c"}, {"b", "c"}, {"c"}, {"c", "d", "e", "f", "g"}, {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m"}} {
		var members []kafka.GroupMember
		for _, id := range ids {
			members = append(members, kafka.GroupMember{ID: id, Topics: eventTopics})
		}
		for range 20 {
			var ps []kafka.Partition
			for _, topic := range eventTopics {
				for p := range partitions {
					ps = append(ps, kafka.Partition{Topic: topic, ID: p})
				}
			}
			rng.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
			if err := colocated(ingest.CoLocatingBalancer{}.AssignGroups(members, ps), partitions); err != nil {
				t.Fatalf("members %v: %v", ids, err)
			}
			rangeBroke = rangeBroke || colocated(kafka.RangeGroupBalancer{}.AssignGroups(members, ps), partitions) != nil
		}
	}
	if !rangeBroke {
		t.Error("Range co-located shuffled metadata every time: the shuffle does not exercise the ordering")
	}
}

// TestCoLocationUnderRebalances runs real kafka-go consumer groups against the broker: three
// members join one by one, then two leave; after every rebalance the generation's assignments
// keep partition p of the three topics on one member.
func TestCoLocationUnderRebalances(t *testing.T) {
	const partitions = 6
	b := testenv.Broker(t, partitions)
	if err := ingest.EnsureTopics(context.Background(), ingest.Config{Brokers: []string{b.Addr()}, Partitions: partitions}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	latest := make(map[string]kafka.GroupMemberAssignments) // member → its latest generation's view
	type member struct {
		cancel context.CancelFunc
		done   chan struct{}
	}
	join := func(name string) *member {
		g, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
			ID: "colocate", Brokers: []string{b.Addr()}, Topics: eventTopics,
			GroupBalancers:    []kafka.GroupBalancer{ingest.CoLocatingBalancer{}, kafka.RangeGroupBalancer{}},
			HeartbeatInterval: 200 * time.Millisecond, SessionTimeout: 6 * time.Second, RebalanceTimeout: 6 * time.Second,
			JoinGroupBackoff: 100 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		m := &member{cancel: cancel, done: make(chan struct{})}
		go func() {
			defer close(m.done)
			defer g.Close()
			for {
				gen, err := g.Next(ctx)
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					continue
				}
				a := make(map[string][]int)
				for topic, as := range gen.Assignments {
					for _, p := range as {
						a[topic] = append(a[topic], p.ID)
					}
				}
				mu.Lock()
				latest[name] = kafka.GroupMemberAssignments{fmt.Sprintf("%s@%d", name, gen.ID): a}
				mu.Unlock()
				gen.Start(func(gctx context.Context) { <-gctx.Done() })
			}
		}()
		return m
	}
	// settled waits until the live members' latest generations cover every partition once.
	settled := func(live []string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		var err error
		for time.Now().Before(deadline) {
			mu.Lock()
			all := kafka.GroupMemberAssignments{}
			gens := map[string]bool{}
			for _, n := range live {
				for k, v := range latest[n] {
					all[k] = v
					gens[k[len(n)+1:]] = true
				}
			}
			mu.Unlock()
			if err = colocated(all, partitions); err == nil && len(gens) == 1 && len(all) == len(live) {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("members %v never settled on a co-located assignment: %v", live, err)
	}
	members := map[string]*member{}
	var live []string
	for _, n := range []string{"a", "b", "c"} {
		members[n] = join(n)
		live = append(live, n)
		settled(live)
	}
	for _, n := range []string{"a", "c"} {
		members[n].cancel()
		<-members[n].done
		mu.Lock()
		delete(latest, n)
		mu.Unlock()
		live = slices.DeleteFunc(live, func(s string) bool { return s == n })
		settled(live)
	}
	members["b"].cancel()
	<-members["b"].done
}

// TestEnsureTopicsRefusesUnequalPartitions: topics created elsewhere with different partition
// counts cannot co-locate a stream's events; start-up must say so, naming the counts.
func TestEnsureTopicsRefusesUnequalPartitions(t *testing.T) {
	b := testenv.Broker(t, 4)
	client := &kafka.Client{Addr: kafka.TCP(b.Addr())}
	_, err := client.CreateTopics(context.Background(), &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{
		{Topic: "livepulse.viewer", NumPartitions: 4, ReplicationFactor: 1},
		{Topic: "livepulse.order", NumPartitions: 6, ReplicationFactor: 1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	err = ingest.EnsureTopics(context.Background(), ingest.Config{Brokers: []string{b.Addr()}, Partitions: 4})
	if err == nil || !strings.Contains(err.Error(), "same partition count") || !strings.Contains(err.Error(), "livepulse.order=6") {
		t.Errorf("EnsureTopics with 4/6/4 partitions: %v, want an error naming the counts", err)
	}
}
