package metrics

import (
	"encoding/binary"
	"time"

	"github.com/shopspring/decimal"

	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/schemas"
)

// MinuteRow is one stream's figures for one event-time minute, as counted from one partition's
// events: a row of schemas.StreamMetrics1m.
type MinuteRow struct {
	Minute                int64 // start of the minute, Unix ms
	StreamID              string
	Partition             int32
	KOLID                 string
	BrandID               string
	Platform              string
	GMV                   schemas.Money
	Orders                uint64
	Buyers                uint64
	Refunds               uint64
	RefundAmount          schemas.Money
	RefundedOrders        uint64
	UnmatchedRefunds      uint64
	UnmatchedRefundAmount schemas.Money
	Joins                 uint64
	Leaves                uint64
	Heartbeats            uint64
	Engagements           uint64
	UniqueViewers         uint64
	ConcurrentViewers     uint64
	PeakConcurrent        uint64
	ReportedViewers       uint64
	CountEvents           uint64
	SessionsEnded         uint64
	WatchMSEnded          uint64
	LateEvents            uint64
	Version               uint64 // set by the emitter: increases with every emission
	EmittedAt             int64  // Unix ms
}

// MinuteRows is a batch of rollup rows (implements store.Rows).
type MinuteRows []MinuteRow

func (r MinuteRows) Table() *schemas.Table { return schemas.StreamMetrics1m }
func (r MinuteRows) Len() int              { return len(r) }

// Source: rollup rows are idempotent (ReplacingMergeTree), not tied to a Kafka offset.
func (r MinuteRows) Source(i int) store.Source {
	return store.Source{Topic: "", Partition: r[i].Partition, Offset: -1}
}

func (r MinuteRows) AppendRowBinary(b []byte, _ int64) []byte {
	le := binary.LittleEndian
	str := func(b []byte, s string) []byte { return append(binary.AppendUvarint(b, uint64(len(s))), s...) }
	for i := range r {
		m := &r[i]
		b = le.AppendUint64(b, uint64(m.Minute))
		b = str(b, m.StreamID)
		b = le.AppendUint32(b, uint32(m.Partition))
		b = str(b, m.KOLID)
		b = str(b, m.BrandID)
		b = str(b, m.Platform)
		b = le.AppendUint64(b, uint64(m.GMV))
		b = le.AppendUint64(b, m.Orders)
		b = le.AppendUint64(b, m.Buyers)
		b = le.AppendUint64(b, m.Refunds)
		b = le.AppendUint64(b, uint64(m.RefundAmount))
		b = le.AppendUint64(b, m.RefundedOrders)
		b = le.AppendUint64(b, m.UnmatchedRefunds)
		b = le.AppendUint64(b, uint64(m.UnmatchedRefundAmount))
		for _, v := range []uint64{m.Joins, m.Leaves, m.Heartbeats, m.Engagements, m.UniqueViewers,
			m.ConcurrentViewers, m.PeakConcurrent, m.ReportedViewers, m.CountEvents, m.SessionsEnded,
			m.WatchMSEnded, m.LateEvents, m.Version} {
			b = le.AppendUint64(b, v)
		}
		b = le.AppendUint64(b, uint64(m.EmittedAt))
	}
	return b
}

func (r MinuteRows) Values(i int, _ time.Time) []any {
	m := &r[i]
	money := func(v schemas.Money) decimal.Decimal { return decimal.New(int64(v), -schemas.MoneyScale) }
	return []any{time.UnixMilli(m.Minute).UTC(), m.StreamID, uint32(m.Partition), m.KOLID, m.BrandID, m.Platform,
		money(m.GMV), m.Orders, m.Buyers, m.Refunds, money(m.RefundAmount), m.RefundedOrders,
		m.UnmatchedRefunds, money(m.UnmatchedRefundAmount), m.Joins, m.Leaves, m.Heartbeats, m.Engagements,
		m.UniqueViewers, m.ConcurrentViewers, m.PeakConcurrent, m.ReportedViewers, m.CountEvents,
		m.SessionsEnded, m.WatchMSEnded, m.LateEvents, m.Version, time.UnixMilli(m.EmittedAt).UTC()}
}
