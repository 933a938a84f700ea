package ingest

import (
	"cmp"
	"slices"

	"github.com/segmentio/kafka-go"
)

// CoLocatingBalancer assigns partition p of every topic to the same group member, whatever order
// the broker lists partitions in, so that a stream's viewers, orders and refunds (keyed by
// stream_id into equally partitioned topics) meet in one process.
//
// kafka-go's RangeGroupBalancer does this only when the broker's metadata lists each topic's
// partitions in the same order: it ranges over the list as given. Kafka does not promise that
// order, so this balancer sorts the partitions and then ranges like Range does (members sorted
// by ID, contiguous partition ranges). Its protocol has its own name; list Range after it so a
// group that still holds older members agrees on Range during a rolling upgrade.
type CoLocatingBalancer struct{}

// ProtocolName implements kafka.GroupBalancer.
func (CoLocatingBalancer) ProtocolName() string { return "livepulse-colocate" }

// UserData implements kafka.GroupBalancer.
func (CoLocatingBalancer) UserData() ([]byte, error) { return nil, nil }

// AssignGroups implements kafka.GroupBalancer.
func (CoLocatingBalancer) AssignGroups(members []kafka.GroupMember, partitions []kafka.Partition) kafka.GroupMemberAssignments {
	sorted := slices.Clone(partitions)
	slices.SortFunc(sorted, func(a, b kafka.Partition) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.ID, b.ID))
	})
	return kafka.RangeGroupBalancer{}.AssignGroups(members, sorted)
}
