package store

import (
	"encoding/binary"
	"time"

	"github.com/shopspring/decimal"

	"github.com/livepulse/livepulse/schemas"
)

// Source is the Kafka position a row was read from. Together with the table it identifies the
// row: delivery is effectively-once because a position is never stored twice (see Store.Resume).
type Source struct {
	Topic     string
	Partition int32
	Offset    int64
}

// Rows is a batch of rows bound for one table. Each backend encodes it its own way.
type Rows interface {
	Table() *schemas.Table
	Len() int
	// AppendRowBinary appends every row in ClickHouse's RowBinary format, columns in table order.
	AppendRowBinary(dst []byte, ingestMS int64) []byte
	// Values returns row i as column values for clickhouse-go's batch API, columns in table order.
	Values(i int, ingest time.Time) []any
	// Source returns where row i was read from.
	Source(i int) Source
}

// ViewerRow is a stored viewer event. Late marks an event that arrived after its minute was
// final: stored, not counted.
type ViewerRow struct {
	Src  Source
	Ev   schemas.Viewer
	Late bool
}

// OrderRow is a stored order.
type OrderRow struct {
	Src  Source
	Ev   schemas.Order
	Late bool
}

// RefundRow is a stored refund.
type RefundRow struct {
	Src  Source
	Ev   schemas.Refund
	Late bool
}

// DeadLetter is a message that broke the contract, kept with its reason and its raw bytes.
type DeadLetter struct {
	Src    Source
	Key    []byte
	Reason schemas.Reason
	Field  string
	Detail string
	Raw    []byte
}

type (
	ViewerRows  []ViewerRow
	OrderRows   []OrderRow
	RefundRows  []RefundRow
	DeadLetters []DeadLetter
)

func (r ViewerRows) Table() *schemas.Table  { return schemas.ViewerEvents }
func (r OrderRows) Table() *schemas.Table   { return schemas.Orders }
func (r RefundRows) Table() *schemas.Table  { return schemas.Refunds }
func (r DeadLetters) Table() *schemas.Table { return schemas.DeadLetters }

func (r ViewerRows) Len() int  { return len(r) }
func (r OrderRows) Len() int   { return len(r) }
func (r RefundRows) Len() int  { return len(r) }
func (r DeadLetters) Len() int { return len(r) }

func (r ViewerRows) Source(i int) Source  { return r[i].Src }
func (r OrderRows) Source(i int) Source   { return r[i].Src }
func (r RefundRows) Source(i int) Source  { return r[i].Src }
func (r DeadLetters) Source(i int) Source { return r[i].Src }

func (r ViewerRows) AppendRowBinary(b []byte, ingestMS int64) []byte {
	for i := range r {
		e := &r[i].Ev
		b = appendHeader(b, &e.Header)
		b = appendString(b, e.Action.String())
		b = appendString(b, e.ViewerID)
		b = appendString(b, e.SessionID)
		b = appendString(b, e.DeviceID)
		b = appendString(b, e.IP)
		b = appendString(b, e.Kind.String())
		b = binary.LittleEndian.AppendUint64(b, e.ReportedViewers)
		b = appendSource(b, r[i].Src, ingestMS, r[i].Late)
	}
	return b
}

func (r OrderRows) AppendRowBinary(b []byte, ingestMS int64) []byte {
	for i := range r {
		e := &r[i].Ev
		b = appendHeader(b, &e.Header)
		b = appendString(b, e.OrderID)
		b = appendString(b, e.BuyerID)
		b = appendString(b, e.SKUID)
		b = binary.LittleEndian.AppendUint32(b, e.Quantity)
		b = binary.LittleEndian.AppendUint64(b, uint64(e.Amount))
		b = appendString(b, e.Currency)
		b = appendSource(b, r[i].Src, ingestMS, r[i].Late)
	}
	return b
}

func (r RefundRows) AppendRowBinary(b []byte, ingestMS int64) []byte {
	for i := range r {
		e := &r[i].Ev
		b = appendHeader(b, &e.Header)
		b = appendString(b, e.RefundID)
		b = appendString(b, e.OrderID)
		b = appendString(b, e.BuyerID)
		b = binary.LittleEndian.AppendUint64(b, uint64(e.Amount))
		b = appendString(b, e.Currency)
		b = appendString(b, e.Reason)
		b = appendSource(b, r[i].Src, ingestMS, r[i].Late)
	}
	return b
}

func (r DeadLetters) AppendRowBinary(b []byte, ingestMS int64) []byte {
	for i := range r {
		d := &r[i]
		b = appendString(b, d.Src.Topic)
		b = binary.LittleEndian.AppendUint32(b, uint32(d.Src.Partition))
		b = binary.LittleEndian.AppendUint64(b, uint64(d.Src.Offset))
		b = appendBytes(b, d.Key)
		b = appendString(b, string(d.Reason))
		b = appendString(b, d.Field)
		b = appendString(b, d.Detail)
		b = appendBytes(b, d.Raw)
		b = binary.LittleEndian.AppendUint64(b, uint64(ingestMS))
	}
	return b
}

func appendHeader(b []byte, h *schemas.Header) []byte {
	b = appendString(b, h.EventID)
	b = binary.LittleEndian.AppendUint64(b, uint64(h.TS))
	b = appendString(b, h.StreamID)
	b = appendString(b, h.KOLID)
	b = appendString(b, h.BrandID)
	return appendString(b, h.Platform)
}

func appendSource(b []byte, s Source, ingestMS int64, late bool) []byte {
	b = appendString(b, s.Topic)
	b = binary.LittleEndian.AppendUint32(b, uint32(s.Partition))
	b = binary.LittleEndian.AppendUint64(b, uint64(s.Offset))
	b = binary.LittleEndian.AppendUint64(b, uint64(ingestMS))
	return append(b, boolByte(late))
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b []byte, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func headerValues(h *schemas.Header) []any {
	return []any{h.EventID, time.UnixMilli(h.TS).UTC(), h.StreamID, h.KOLID, h.BrandID, h.Platform}
}

func sourceValues(s Source, ingest time.Time, late bool) []any {
	return []any{s.Topic, uint32(s.Partition), uint64(s.Offset), ingest, boolByte(late)}
}

func (r ViewerRows) Values(i int, ingest time.Time) []any {
	e := &r[i].Ev
	v := headerValues(&e.Header)
	v = append(v, e.Action.String(), e.ViewerID, e.SessionID, e.DeviceID, e.IP, e.Kind.String(), e.ReportedViewers)
	return append(v, sourceValues(r[i].Src, ingest, r[i].Late)...)
}

func (r OrderRows) Values(i int, ingest time.Time) []any {
	e := &r[i].Ev
	v := headerValues(&e.Header)
	v = append(v, e.OrderID, e.BuyerID, e.SKUID, e.Quantity, moneyValue(e.Amount), e.Currency)
	return append(v, sourceValues(r[i].Src, ingest, r[i].Late)...)
}

func (r RefundRows) Values(i int, ingest time.Time) []any {
	e := &r[i].Ev
	v := headerValues(&e.Header)
	v = append(v, e.RefundID, e.OrderID, e.BuyerID, moneyValue(e.Amount), e.Currency, e.Reason)
	return append(v, sourceValues(r[i].Src, ingest, r[i].Late)...)
}

func (r DeadLetters) Values(i int, ingest time.Time) []any {
	d := &r[i]
	return []any{d.Src.Topic, uint32(d.Src.Partition), uint64(d.Src.Offset), string(d.Key),
		string(d.Reason), d.Field, d.Detail, string(d.Raw), ingest}
}

func moneyValue(m schemas.Money) decimal.Decimal { return decimal.New(int64(m), -schemas.MoneyScale) }
