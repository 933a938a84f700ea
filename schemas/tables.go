package schemas

import (
	"github.com/apache/arrow-go/v18/arrow"
)

// ColumnType is the storage type of a column. Each maps to one ClickHouse and one Arrow type, so
// the DDL and the Arrow schema are generated from the same table definitions.
type ColumnType uint8

const (
	TypeString    ColumnType = iota + 1 // free text or high-cardinality id
	TypeLowString                       // low-cardinality label (platform, action, topic, reason)
	TypeTime                            // millisecond timestamp, UTC
	TypeMoney                           // exact amount, 2 decimals
	TypeUInt8
	TypeUInt32
	TypeUInt64
	TypeFloat64
)

// ClickHouse returns the ClickHouse column type.
func (t ColumnType) ClickHouse() string {
	switch t {
	case TypeString:
		return "String"
	case TypeLowString:
		return "LowCardinality(String)"
	case TypeTime:
		return "DateTime64(3, 'UTC')"
	case TypeMoney:
		return "Decimal(18, 2)"
	case TypeUInt8:
		return "UInt8"
	case TypeUInt32:
		return "UInt32"
	case TypeUInt64:
		return "UInt64"
	case TypeFloat64:
		return "Float64"
	}
	panic("schemas: unknown column type")
}

// Arrow returns the Arrow data type.
func (t ColumnType) Arrow() arrow.DataType {
	switch t {
	case TypeString:
		return arrow.BinaryTypes.String
	case TypeLowString:
		return &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	case TypeTime:
		return &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
	case TypeMoney:
		return &arrow.Decimal128Type{Precision: 18, Scale: MoneyScale}
	case TypeUInt8:
		return arrow.PrimitiveTypes.Uint8
	case TypeUInt32:
		return arrow.PrimitiveTypes.Uint32
	case TypeUInt64:
		return arrow.PrimitiveTypes.Uint64
	case TypeFloat64:
		return arrow.PrimitiveTypes.Float64
	}
	panic("schemas: unknown column type")
}

// Column is one column of a stored table.
type Column struct {
	Name string
	Type ColumnType
	// Contract says the column holds the contract field of the same name; false for columns livepulse
	// adds (Kafka position, ingest time, dead-letter details).
	Contract bool
	// Required says the contract requires the field in every message of the kind.
	Required bool
	Doc      string
}

// Table is a stored table: the contract's fields plus where each row came from.
type Table struct {
	Name    string
	Kind    Kind // 0 for dead_letters
	Columns []Column
}

// ColumnNames returns the column names in order.
func (t *Table) ColumnNames() []string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	return names
}

// ArrowSchema returns the table's Arrow schema.
func (t *Table) ArrowSchema() *arrow.Schema {
	fields := make([]arrow.Field, len(t.Columns))
	for i, c := range t.Columns {
		fields[i] = arrow.Field{Name: c.Name, Type: c.Type.Arrow()}
	}
	md := arrow.NewMetadata([]string{"table"}, []string{t.Name})
	return arrow.NewSchema(fields, &md)
}

var headerColumns = []Column{
	{Name: "event_id", Type: TypeString, Contract: true, Required: true, Doc: "globally unique id; the idempotency key"},
	{Name: "ts", Type: TypeTime, Contract: true, Required: true, Doc: "event time"},
	{Name: "stream_id", Type: TypeString, Contract: true, Required: true, Doc: "one live broadcast; the Kafka key"},
	{Name: "kol_id", Type: TypeString, Contract: true, Required: true, Doc: "the broadcast's host"},
	{Name: "brand_id", Type: TypeLowString, Contract: true},
	{Name: "platform", Type: TypeLowString, Contract: true},
}

// sourceColumns record where a row came from: the Kafka position is what makes delivery
// effectively-once (see pipeline/store), ingest_time partitions the tables.
var sourceColumns = []Column{
	{Name: "kafka_topic", Type: TypeLowString, Doc: "source topic"},
	{Name: "kafka_partition", Type: TypeUInt32, Doc: "source partition"},
	{Name: "kafka_offset", Type: TypeUInt64, Doc: "source offset"},
	{Name: "ingest_time", Type: TypeTime, Doc: "when livepulse stored the row's batch"},
	{Name: "late", Type: TypeUInt8, Doc: "1: arrived after its minute was final (beyond the allowed lateness); stored, not counted"},
}

func table(name string, kind Kind, cols ...Column) *Table {
	all := append(append(append([]Column{}, headerColumns...), cols...), sourceColumns...)
	if kind == 0 {
		all = append(append([]Column{}, sourceColumns[:3]...), cols...)
		all = append(all, sourceColumns[3]) // dead letters have no event time, so no lateness
	}
	return &Table{Name: name, Kind: kind, Columns: all}
}

var (
	ViewerEvents = table("viewer_events", KindViewer,
		Column{Name: "action", Type: TypeLowString, Contract: true, Required: true, Doc: "join|leave|heartbeat|engage|count"},
		Column{Name: "viewer_id", Type: TypeString, Contract: true, Doc: "required except for action=count"},
		Column{Name: "session_id", Type: TypeString, Contract: true},
		Column{Name: "device_id", Type: TypeString, Contract: true},
		Column{Name: "ip", Type: TypeString, Contract: true},
		Column{Name: "kind", Type: TypeLowString, Contract: true, Doc: "engage: like|comment|share|follow"},
		Column{Name: "reported_viewers", Type: TypeUInt64, Contract: true, Doc: "count: the displayed concurrent viewers"},
	)
	Orders = table("orders", KindOrder,
		Column{Name: "order_id", Type: TypeString, Contract: true, Required: true},
		Column{Name: "buyer_id", Type: TypeString, Contract: true, Required: true},
		Column{Name: "sku_id", Type: TypeString, Contract: true},
		Column{Name: "quantity", Type: TypeUInt32, Contract: true, Doc: "≥ 1, default 1"},
		Column{Name: "amount", Type: TypeMoney, Contract: true, Required: true, Doc: "order total, major units, exact"},
		Column{Name: "currency", Type: TypeLowString, Contract: true, Doc: "ISO 4217; default the deployment's"},
	)
	Refunds = table("refunds", KindRefund,
		Column{Name: "refund_id", Type: TypeString, Contract: true, Required: true},
		Column{Name: "order_id", Type: TypeString, Contract: true, Required: true},
		Column{Name: "buyer_id", Type: TypeString, Contract: true},
		Column{Name: "amount", Type: TypeMoney, Contract: true, Required: true},
		Column{Name: "currency", Type: TypeLowString, Contract: true},
		Column{Name: "reason", Type: TypeString, Contract: true},
	)
	DeadLetters = table("dead_letters", 0,
		Column{Name: "kafka_key", Type: TypeString, Doc: "message key"},
		Column{Name: "reason", Type: TypeLowString, Doc: "schemas.Reason"},
		Column{Name: "field", Type: TypeString, Doc: "offending field, if any"},
		Column{Name: "detail", Type: TypeString, Doc: "human-readable error"},
		Column{Name: "raw", Type: TypeString, Doc: "the message bytes, unchanged"},
	)
)

// StreamMetrics1m is the per-stream, per-minute rollup computed in the stream (event time). A
// row is keyed by (stream_id, minute, kafka_partition): a refund read from another partition than
// its order's stream adds its own row, and readers sum over partitions. Rows are re-emitted when
// late events correct them; version orders the emissions and ReplacingMergeTree keeps the last,
// so readers use FINAL (or argMax by version).
var StreamMetrics1m = &Table{Name: "stream_metrics_1m", Columns: []Column{
	{Name: "minute", Type: TypeTime, Doc: "start of the event-time minute"},
	{Name: "stream_id", Type: TypeString},
	{Name: "kafka_partition", Type: TypeUInt32, Doc: "the partition whose events the row counts"},
	{Name: "kol_id", Type: TypeString},
	{Name: "brand_id", Type: TypeLowString},
	{Name: "platform", Type: TypeLowString},
	{Name: "gmv", Type: TypeMoney, Doc: "sum of order amounts"},
	{Name: "orders", Type: TypeUInt64},
	{Name: "buyers", Type: TypeUInt64, Doc: "distinct buyers in the minute"},
	{Name: "refunds", Type: TypeUInt64, Doc: "refunds attributed to the stream's orders"},
	{Name: "refund_amount", Type: TypeMoney},
	{Name: "refunded_orders", Type: TypeUInt64, Doc: "distinct orders refunded in the minute"},
	{Name: "unmatched_refunds", Type: TypeUInt64, Doc: "refunds naming an order never seen (counted on the refund's own stream)"},
	{Name: "unmatched_refund_amount", Type: TypeMoney},
	{Name: "joins", Type: TypeUInt64},
	{Name: "leaves", Type: TypeUInt64},
	{Name: "heartbeats", Type: TypeUInt64},
	{Name: "engagements", Type: TypeUInt64},
	{Name: "unique_viewers", Type: TypeUInt64, Doc: "distinct viewers with any event in the minute"},
	{Name: "concurrent_viewers", Type: TypeUInt64, Doc: "open sessions at the minute's end"},
	{Name: "peak_concurrent_viewers", Type: TypeUInt64, Doc: "most open sessions at any time in the minute"},
	{Name: "reported_viewers", Type: TypeUInt64, Doc: "the last displayed count in the minute (0: none)"},
	{Name: "count_events", Type: TypeUInt64, Doc: "displayed-count events in the minute"},
	{Name: "sessions_ended", Type: TypeUInt64, Doc: "sessions that left or timed out in the minute"},
	{Name: "watch_ms_ended", Type: TypeUInt64, Doc: "total watch time of the sessions that ended"},
	{Name: "late_events", Type: TypeUInt64, Doc: "events that arrived after the minute was final (not counted above)"},
	{Name: "version", Type: TypeUInt64, Doc: "emission order; the highest wins"},
	{Name: "emitted_at", Type: TypeTime},
}}

// AnomalyFlags holds the detectors' flags. A flag is one episode (kind, stream, start); it is
// written again each time it is updated or closed, and ReplacingMergeTree keeps the last version.
var AnomalyFlags = &Table{Name: "anomaly_flags", Columns: []Column{
	{Name: "flag_id", Type: TypeString, Doc: "deterministic: kind, stream and episode start"},
	{Name: "kind", Type: TypeLowString, Doc: "viewer_inflation | refund_spike | order_brushing"},
	{Name: "stream_id", Type: TypeString},
	{Name: "kol_id", Type: TypeString},
	{Name: "brand_id", Type: TypeLowString},
	{Name: "platform", Type: TypeLowString},
	{Name: "severity", Type: TypeLowString, Doc: "info | warning | critical"},
	{Name: "score", Type: TypeFloat64, Doc: "0–1, the episode's peak"},
	{Name: "window_start", Type: TypeTime, Doc: "event time of the earliest evidence"},
	{Name: "window_end", Type: TypeTime, Doc: "event time of the last anomalous evaluation"},
	{Name: "detected_at", Type: TypeTime, Doc: "event time (watermark) of this emission"},
	{Name: "state", Type: TypeLowString, Doc: "open | closed"},
	{Name: "summary", Type: TypeString, Doc: "the evidence in words"},
	{Name: "evidence", Type: TypeString, Doc: "the evidence as JSON: fired signals, values, baselines"},
	{Name: "replayed", Type: TypeUInt8, Doc: "1: raised by `livepulse replay`, not live"},
	{Name: "replay_id", Type: TypeString, Doc: "the replay run that raised it; empty for live flags"},
	{Name: "version", Type: TypeUInt64, Doc: "emission order; the highest wins"},
	{Name: "emitted_at", Type: TypeTime, Doc: "wall time of this emission"},
}}

// Tables lists every stored table.
var Tables = []*Table{ViewerEvents, Orders, Refunds, DeadLetters, StreamMetrics1m, AnomalyFlags}

// TableFor returns the table storing events of kind.
func TableFor(k Kind) *Table {
	switch k {
	case KindViewer:
		return ViewerEvents
	case KindOrder:
		return Orders
	case KindRefund:
		return Refunds
	}
	return nil
}
