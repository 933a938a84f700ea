package store

import (
	"encoding/binary"

	"github.com/livepulse/livepulse/schemas"
)

// NativeRows are rows the embedded backend sends column by column in ClickHouse's Native format
// instead of row by row in RowBinary: the engine then reads each column in bulk and receives the
// low-cardinality columns already dictionary-encoded, which costs it less CPU per row.
type NativeRows interface {
	Rows
	// appendNative appends every row to cols, one value to each column, columns in table order.
	appendNative(cols []nativeColumn, ingestMS int64)
}

// nativeEncoder encodes a single Native block (the layout of protocol revision 0, which FORMAT
// Native reads): the column count, the row count, then each column whole — name, type, values.
// A single block, whatever the number of chunks, because an INSERT is atomic only as one block
// (one part: see Store.Resume). The rows are read once, each value appended to its column's
// buffer; the buffers are reused from one insert to the next.
type nativeEncoder struct {
	head  []byte
	cols  []nativeColumn
	parts [][]byte
}

// encode returns the Native block of every row of chunks, which must all be of one table, as
// consecutive pieces (the columns are not copied into one buffer).
func (e *nativeEncoder) encode(chunks []NativeRows, ingestMS int64) [][]byte {
	t := chunks[0].Table()
	if cap(e.cols) < len(t.Columns) {
		e.cols = make([]nativeColumn, len(t.Columns))
	}
	e.cols = e.cols[:len(t.Columns)]
	rows := 0
	for _, c := range chunks {
		rows += c.Len()
	}
	e.head = binary.AppendUvarint(e.head[:0], uint64(len(t.Columns)))
	e.head = binary.AppendUvarint(e.head, uint64(rows))
	e.parts = append(e.parts[:0], e.head)
	for i, c := range t.Columns {
		e.cols[i].begin(c)
	}
	for _, c := range chunks {
		c.appendNative(e.cols, ingestMS)
	}
	for i := range e.cols {
		e.parts = e.cols[i].end(e.parts)
	}
	return e.parts
}

// nativeColumn receives one column's values. Plain columns are appended to the column's buffer
// as they come; a LowCardinality(String) column collects its dictionary and each row's position
// in it, and writes them at the end.
type nativeColumn struct {
	head    []byte // the column's name and type
	b       []byte
	lowCard bool
	dict    map[string]uint32
	keys    []string
	index   []uint32
}

func (w *nativeColumn) begin(c schemas.Column) {
	w.head = appendString(w.head[:0], c.Name)
	w.head = appendString(w.head, c.Type.ClickHouse())
	w.b = w.b[:0]
	w.lowCard = c.Type == schemas.TypeLowString
	if w.lowCard {
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

// end appends the column's pieces to parts.
func (w *nativeColumn) end(parts [][]byte) [][]byte {
	if !w.lowCard {
		return append(parts, w.head, w.b)
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
	w.b = b
	return append(parts, w.head, w.b)
}

// str appends a String value.
func (w *nativeColumn) str(s string) { w.b = appendString(w.b, s) }

// low appends a LowCardinality(String) value. Small dictionaries (an enum, the topic) are
// searched in place: the decoder interns such values, so the comparisons mostly find equal
// pointers, which is cheaper than hashing.
func (w *nativeColumn) low(s string) {
	if len(w.keys) <= 8 {
		for i, k := range w.keys {
			if k == s {
				w.index = append(w.index, uint32(i))
				return
			}
		}
		if len(w.keys) < 8 {
			w.index = append(w.index, uint32(len(w.keys)))
			w.keys = append(w.keys, s)
			return
		}
		for i, k := range w.keys {
			w.dict[k] = uint32(i)
		}
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

// i64 appends an Int64, which is also how DateTime64(3) (milliseconds) and Decimal(18, 2)
// (cents) are sent.
func (w *nativeColumn) i64(v int64) { w.b = binary.LittleEndian.AppendUint64(w.b, uint64(v)) }

// appendHeaderNative appends h to the first six columns, which every event table starts with.
func appendHeaderNative(c []nativeColumn, h *schemas.Header) {
	c = c[:6]
	c[0].str(h.EventID)
	c[1].i64(h.TS)
	c[2].str(h.StreamID)
	c[3].str(h.KOLID)
	c[4].low(h.BrandID)
	c[5].low(h.Platform)
}

// appendSourceNative appends the Kafka position, ingest time and lateness to the last five
// columns, which every event table ends with.
func appendSourceNative(c []nativeColumn, s Source, ingestMS int64, late bool) {
	c = c[len(c)-5:]
	c[0].low(s.Topic)
	c[1].u32(uint32(s.Partition))
	c[2].u64(uint64(s.Offset))
	c[3].i64(ingestMS)
	c[4].u8(boolByte(late))
}

func (r ViewerRows) appendNative(cols []nativeColumn, ingestMS int64) {
	c := cols[:18]
	for i := range r {
		e := &r[i].Ev
		appendHeaderNative(c, &e.Header)
		c[6].low(e.Action.String())
		c[7].str(e.ViewerID)
		c[8].str(e.SessionID)
		c[9].str(e.DeviceID)
		c[10].str(e.IP)
		c[11].low(e.Kind.String())
		c[12].u64(e.ReportedViewers)
		appendSourceNative(c, r[i].Src, ingestMS, r[i].Late)
	}
}

func (r OrderRows) appendNative(cols []nativeColumn, ingestMS int64) {
	c := cols[:17]
	for i := range r {
		e := &r[i].Ev
		appendHeaderNative(c, &e.Header)
		c[6].str(e.OrderID)
		c[7].str(e.BuyerID)
		c[8].str(e.SKUID)
		c[9].u32(e.Quantity)
		c[10].i64(int64(e.Amount))
		c[11].low(e.Currency)
		appendSourceNative(c, r[i].Src, ingestMS, r[i].Late)
	}
}

func (r RefundRows) appendNative(cols []nativeColumn, ingestMS int64) {
	c := cols[:17]
	for i := range r {
		e := &r[i].Ev
		appendHeaderNative(c, &e.Header)
		c[6].str(e.RefundID)
		c[7].str(e.OrderID)
		c[8].str(e.BuyerID)
		c[9].i64(int64(e.Amount))
		c[10].low(e.Currency)
		c[11].str(e.Reason)
		appendSourceNative(c, r[i].Src, ingestMS, r[i].Late)
	}
}

func (r DeadLetters) appendNative(cols []nativeColumn, ingestMS int64) {
	c := cols[:9]
	for i := range r {
		d := &r[i]
		c[0].low(d.Src.Topic)
		c[1].u32(uint32(d.Src.Partition))
		c[2].u64(uint64(d.Src.Offset))
		c[3].bytes(d.Key)
		c[4].low(string(d.Reason))
		c[5].str(d.Field)
		c[6].str(d.Detail)
		c[7].bytes(d.Raw)
		c[8].i64(ingestMS)
	}
}
