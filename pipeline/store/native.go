package store

import (
	"encoding/binary"
	"fmt"

	"github.com/livepulse/livepulse/schemas"
)

// NativeRows are rows the embedded backend sends column by column in ClickHouse's Native format
// instead of row by row in RowBinary: the engine then reads each column in bulk and receives the
// low-cardinality columns already dictionary-encoded, which costs it less CPU per row.
type NativeRows interface {
	Rows
	// appendNative appends the values of column col (a name of Table().Columns) of every row to w,
	// and reports false for a column it does not know.
	appendNative(w *nativeColumn, col string, ingestMS int64) bool
}

// nativeEncoder writes a single Native block (the layout of protocol revision 0, which FORMAT
// Native reads): the column count, the row count, then each column whole — name, type, values.
// A single block, whatever the number of chunks, because an INSERT is atomic only as one block
// (one part: see Store.Resume). Its buffers are reused from one insert to the next.
type nativeEncoder struct {
	buf []byte
	col nativeColumn
}

// encode returns the Native block of every row of chunks, which must all be of one table.
func (e *nativeEncoder) encode(chunks []NativeRows, ingestMS int64) ([]byte, error) {
	t := chunks[0].Table()
	rows := 0
	for _, c := range chunks {
		rows += c.Len()
	}
	b := binary.AppendUvarint(e.buf[:0], uint64(len(t.Columns)))
	b = binary.AppendUvarint(b, uint64(rows))
	for _, c := range t.Columns {
		b = appendString(b, c.Name)
		b = appendString(b, c.Type.ClickHouse())
		e.col.begin(b, c.Type == schemas.TypeLowString)
		for _, ch := range chunks {
			if !ch.appendNative(&e.col, c.Name, ingestMS) {
				e.buf = b
				return nil, fmt.Errorf("cannot encode %s.%s in the Native format: unknown column", t.Name, c.Name)
			}
		}
		b = e.col.end()
	}
	e.buf = b
	return b, nil
}

// nativeColumn receives one column's values. Plain columns are appended to the block as they
// come; a LowCardinality(String) column is collected as a dictionary and the keys' positions in
// it, and written at the end.
type nativeColumn struct {
	b       []byte
	lowCard bool
	dict    map[string]uint32
	keys    []string
	index   []uint32
}

func (w *nativeColumn) begin(b []byte, lowCard bool) {
	w.b, w.lowCard = b, lowCard
	if lowCard {
		if w.dict == nil {
			w.dict = make(map[string]uint32)
		}
		clear(w.dict)
		w.keys, w.index = w.keys[:0], w.index[:0]
	}
}

// The LowCardinality serialization (ClickHouse SerializationLowCardinality): a version prefix
// (shared dictionaries with additional keys), then the index type with the flag saying the keys
// follow as additional keys (no global dictionary), the keys as a String column, and the rows'
// positions in the keys, in the narrowest unsigned type that holds them.
const (
	lowCardSharedDictionariesWithAdditionalKeys = 1
	lowCardHasAdditionalKeys                    = 1 << 9
	lowCardNeedUpdateDictionary                 = 1 << 10
)

func (w *nativeColumn) end() []byte {
	if !w.lowCard {
		return w.b
	}
	b := binary.LittleEndian.AppendUint64(w.b, lowCardSharedDictionariesWithAdditionalKeys)
	var width uint64 // 0: UInt8, 1: UInt16, 2: UInt32
	switch n := len(w.keys); {
	case n > 1<<16:
		width = 2
	case n > 1<<8:
		width = 1
	}
	b = binary.LittleEndian.AppendUint64(b, width|lowCardHasAdditionalKeys|lowCardNeedUpdateDictionary)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(w.keys)))
	for _, k := range w.keys {
		b = appendString(b, k)
	}
	b = binary.LittleEndian.AppendUint64(b, uint64(len(w.index)))
	switch width {
	case 0:
		for _, i := range w.index {
			b = append(b, byte(i))
		}
	case 1:
		for _, i := range w.index {
			b = binary.LittleEndian.AppendUint16(b, uint16(i))
		}
	default:
		for _, i := range w.index {
			b = binary.LittleEndian.AppendUint32(b, i)
		}
	}
	return b
}

// str appends a String or LowCardinality(String) value.
func (w *nativeColumn) str(s string) {
	if !w.lowCard {
		w.b = appendString(w.b, s)
		return
	}
	i, ok := w.dict[s]
	if !ok {
		i = uint32(len(w.keys))
		w.dict[s] = i
		w.keys = append(w.keys, s)
	}
	w.index = append(w.index, i)
}

func (w *nativeColumn) bytes(s []byte) { w.b = appendBytes(w.b, s) }
func (w *nativeColumn) u8(v uint8)     { w.b = append(w.b, v) }
func (w *nativeColumn) u32(v uint32)   { w.b = binary.LittleEndian.AppendUint32(w.b, v) }
func (w *nativeColumn) u64(v uint64)   { w.b = binary.LittleEndian.AppendUint64(w.b, v) }

// DateTime64(3) and Decimal(18, 2) are Int64s: milliseconds and cents.
func (w *nativeColumn) i64(v int64) { w.b = binary.LittleEndian.AppendUint64(w.b, uint64(v)) }

// appendHeaderNative appends a column of the header every event table starts with.
func appendHeaderNative(w *nativeColumn, col string, n int, h func(i int) *schemas.Header) bool {
	switch col {
	case "event_id":
		for i := range n {
			w.str(h(i).EventID)
		}
	case "ts":
		for i := range n {
			w.i64(h(i).TS)
		}
	case "stream_id":
		for i := range n {
			w.str(h(i).StreamID)
		}
	case "kol_id":
		for i := range n {
			w.str(h(i).KOLID)
		}
	case "brand_id":
		for i := range n {
			w.str(h(i).BrandID)
		}
	case "platform":
		for i := range n {
			w.str(h(i).Platform)
		}
	default:
		return false
	}
	return true
}

// appendSourceNative appends a column of the Kafka position and ingest time every event table
// ends with.
func appendSourceNative(w *nativeColumn, col string, n int, ingestMS int64, src func(i int) (Source, bool)) bool {
	switch col {
	case "kafka_topic":
		for i := range n {
			s, _ := src(i)
			w.str(s.Topic)
		}
	case "kafka_partition":
		for i := range n {
			s, _ := src(i)
			w.u32(uint32(s.Partition))
		}
	case "kafka_offset":
		for i := range n {
			s, _ := src(i)
			w.u64(uint64(s.Offset))
		}
	case "ingest_time":
		for range n {
			w.i64(ingestMS)
		}
	case "late":
		for i := range n {
			_, late := src(i)
			w.u8(boolByte(late))
		}
	default:
		return false
	}
	return true
}

func (r ViewerRows) appendNative(w *nativeColumn, col string, ingestMS int64) bool {
	switch col {
	case "action":
		for i := range r {
			w.str(r[i].Ev.Action.String())
		}
	case "viewer_id":
		for i := range r {
			w.str(r[i].Ev.ViewerID)
		}
	case "session_id":
		for i := range r {
			w.str(r[i].Ev.SessionID)
		}
	case "device_id":
		for i := range r {
			w.str(r[i].Ev.DeviceID)
		}
	case "ip":
		for i := range r {
			w.str(r[i].Ev.IP)
		}
	case "kind":
		for i := range r {
			w.str(r[i].Ev.Kind.String())
		}
	case "reported_viewers":
		for i := range r {
			w.u64(r[i].Ev.ReportedViewers)
		}
	default:
		return appendHeaderNative(w, col, len(r), func(i int) *schemas.Header { return &r[i].Ev.Header }) ||
			appendSourceNative(w, col, len(r), ingestMS, func(i int) (Source, bool) { return r[i].Src, r[i].Late })
	}
	return true
}

func (r OrderRows) appendNative(w *nativeColumn, col string, ingestMS int64) bool {
	switch col {
	case "order_id":
		for i := range r {
			w.str(r[i].Ev.OrderID)
		}
	case "buyer_id":
		for i := range r {
			w.str(r[i].Ev.BuyerID)
		}
	case "sku_id":
		for i := range r {
			w.str(r[i].Ev.SKUID)
		}
	case "quantity":
		for i := range r {
			w.u32(r[i].Ev.Quantity)
		}
	case "amount":
		for i := range r {
			w.i64(int64(r[i].Ev.Amount))
		}
	case "currency":
		for i := range r {
			w.str(r[i].Ev.Currency)
		}
	default:
		return appendHeaderNative(w, col, len(r), func(i int) *schemas.Header { return &r[i].Ev.Header }) ||
			appendSourceNative(w, col, len(r), ingestMS, func(i int) (Source, bool) { return r[i].Src, r[i].Late })
	}
	return true
}

func (r RefundRows) appendNative(w *nativeColumn, col string, ingestMS int64) bool {
	switch col {
	case "refund_id":
		for i := range r {
			w.str(r[i].Ev.RefundID)
		}
	case "order_id":
		for i := range r {
			w.str(r[i].Ev.OrderID)
		}
	case "buyer_id":
		for i := range r {
			w.str(r[i].Ev.BuyerID)
		}
	case "amount":
		for i := range r {
			w.i64(int64(r[i].Ev.Amount))
		}
	case "currency":
		for i := range r {
			w.str(r[i].Ev.Currency)
		}
	case "reason":
		for i := range r {
			w.str(r[i].Ev.Reason)
		}
	default:
		return appendHeaderNative(w, col, len(r), func(i int) *schemas.Header { return &r[i].Ev.Header }) ||
			appendSourceNative(w, col, len(r), ingestMS, func(i int) (Source, bool) { return r[i].Src, r[i].Late })
	}
	return true
}

func (r DeadLetters) appendNative(w *nativeColumn, col string, ingestMS int64) bool {
	switch col {
	case "kafka_key":
		for i := range r {
			w.bytes(r[i].Key)
		}
	case "reason":
		for i := range r {
			w.str(string(r[i].Reason))
		}
	case "field":
		for i := range r {
			w.str(r[i].Field)
		}
	case "detail":
		for i := range r {
			w.str(r[i].Detail)
		}
	case "raw":
		for i := range r {
			w.bytes(r[i].Raw)
		}
	case "late":
		return false // dead letters have no late column
	default:
		return appendSourceNative(w, col, len(r), ingestMS, func(i int) (Source, bool) { return r[i].Src, false })
	}
	return true
}
