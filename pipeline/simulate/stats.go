package simulate

import (
	"fmt"

	"github.com/livepulse/livepulse/schemas"
)

// Stats counts generated (or, from Produce, acknowledged) messages exactly, so tests can compare
// them with what the pipeline stored.
type Stats struct {
	Messages int64                          // all messages, good and bad
	Good     [schemas.KindRefund + 1]int64  // good messages, indexed by schemas.Kind
	Bad      [schemas.KindRefund + 1]int64  // malformed messages, by the kind (topic) they were sent as
	Actions  [schemas.ActionCount + 1]int64 // good viewer messages, indexed by schemas.Action
	Late     int64                          // good viewer messages delivered after a later event time

	Streams int64 // distinct stream_id among good messages
	Viewers int64 // distinct viewer_id among good messages
	Orders  int64 // distinct order_id among good orders (each order is generated once)

	GMV      schemas.Money // sum of good order amounts
	Refunded schemas.Money // sum of good refund amounts
}

// Count returns the number of good messages of kind k.
func (s Stats) Count(k schemas.Kind) int64 { return s.Good[k] }

// BadTotal returns the number of malformed messages of all kinds.
func (s Stats) BadTotal() int64 {
	return s.Bad[schemas.KindViewer] + s.Bad[schemas.KindOrder] + s.Bad[schemas.KindRefund]
}

func (s *Stats) add(m *Message) {
	s.Messages++
	if m.Bad {
		s.Bad[m.Kind]++
		return
	}
	s.Good[m.Kind]++
	switch m.Kind {
	case schemas.KindViewer:
		s.Actions[m.info.action]++
		if m.info.late {
			s.Late++
		}
		if m.info.newViewer {
			s.Viewers++
		}
	case schemas.KindOrder:
		s.Orders++
		s.GMV += m.info.amount
	case schemas.KindRefund:
		s.Refunded += m.info.amount
	}
	if m.info.newStream {
		s.Streams++
	}
}

// String summarizes the counts on one line.
func (s Stats) String() string {
	return fmt.Sprintf("%d messages: %d viewer, %d order, %d refund, %d bad; %d streams, %d viewers, GMV %s, refunded %s",
		s.Messages, s.Good[schemas.KindViewer], s.Good[schemas.KindOrder], s.Good[schemas.KindRefund], s.BadTotal(),
		s.Streams, s.Viewers, s.GMV, s.Refunded)
}
