package api

// The audit's exports: one row per KOL scorecard, the same columns in CSV and Parquet (money as
// exact decimals: "1234.50" in CSV, DECIMAL(18,2) in Parquet), and a text table for people.

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

type columnKind int

const (
	colString columnKind = iota
	colMoney
	colCount
	colRate
)

// auditColumn is one column of the CSV and Parquet exports; value returns a string, Money,
// uint64 or float64 according to kind.
type auditColumn struct {
	name  string
	kind  columnKind
	value func(rep *AuditReport, k *KOLScorecard) any
}

var auditColumns = []auditColumn{
	{"kol_id", colString, func(_ *AuditReport, k *KOLScorecard) any { return k.KOLID }},
	{"brand_id", colString, func(rep *AuditReport, _ *KOLScorecard) any { return rep.BrandID }},
	{"from", colString, func(rep *AuditReport, _ *KOLScorecard) any { return rep.From }},
	{"to", colString, func(rep *AuditReport, _ *KOLScorecard) any { return rep.To }},
	{"gmv", colMoney, func(_ *AuditReport, k *KOLScorecard) any { return k.GMV }},
	{"net_gmv", colMoney, func(_ *AuditReport, k *KOLScorecard) any { return k.NetGMV }},
	{"refund_amount", colMoney, func(_ *AuditReport, k *KOLScorecard) any { return k.RefundAmount }},
	{"aov", colMoney, func(_ *AuditReport, k *KOLScorecard) any { return k.AOV }},
	{"gpm", colMoney, func(_ *AuditReport, k *KOLScorecard) any { return k.GPM }},
	{"orders", colCount, func(_ *AuditReport, k *KOLScorecard) any { return k.Orders }},
	{"buyers", colCount, func(_ *AuditReport, k *KOLScorecard) any { return k.Buyers }},
	{"refunds", colCount, func(_ *AuditReport, k *KOLScorecard) any { return k.Refunds }},
	{"refunded_orders", colCount, func(_ *AuditReport, k *KOLScorecard) any { return k.RefundedOrders }},
	{"refund_rate", colRate, func(_ *AuditReport, k *KOLScorecard) any { return k.RefundRate }},
	{"refund_rate_by_amount", colRate, func(_ *AuditReport, k *KOLScorecard) any { return k.RefundRateByAmount }},
	{"unique_viewers", colCount, func(_ *AuditReport, k *KOLScorecard) any { return k.UniqueViewers }},
	{"peak_concurrent_viewers", colCount, func(_ *AuditReport, k *KOLScorecard) any { return k.PeakConcurrentViewers }},
	{"peak_displayed_viewers", colCount, func(_ *AuditReport, k *KOLScorecard) any { return k.PeakDisplayedViewers }},
	{"displayed_to_measured", colRate, func(_ *AuditReport, k *KOLScorecard) any { return k.DisplayedToMeasured }},
	{"conversion_rate", colRate, func(_ *AuditReport, k *KOLScorecard) any { return k.ConversionRate }},
	{"engagement_per_viewer", colRate, func(_ *AuditReport, k *KOLScorecard) any { return k.EngagementPerViewer }},
	{"avg_watch_seconds", colRate, func(_ *AuditReport, k *KOLScorecard) any { return k.AvgWatchSeconds }},
	{"streams", colCount, func(_ *AuditReport, k *KOLScorecard) any { return k.StreamCount }},
	{"flags", colCount, func(_ *AuditReport, k *KOLScorecard) any { return uint64(k.FlagCount) }},
	{"flag_kinds", colString, func(_ *AuditReport, k *KOLScorecard) any { return flagKinds(k.Flags) }},
}

// flagKinds lists the distinct kinds of flags, sorted, separated by ';'.
func flagKinds(flags []AuditFlag) string {
	var kinds []string
	for _, f := range flags {
		if !slices.Contains(kinds, f.Kind) {
			kinds = append(kinds, f.Kind)
		}
	}
	slices.Sort(kinds)
	return strings.Join(kinds, ";")
}

func formatCell(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case Money:
		return v.String()
	case uint64:
		return strconv.FormatUint(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	panic(fmt.Sprintf("audit column of type %T", v)) // the column table above is wrong
}

// WriteAuditCSV writes one row per scorecard under a header row.
func WriteAuditCSV(w *bytes.Buffer, rep *AuditReport) error {
	cw := csv.NewWriter(w)
	header := make([]string, len(auditColumns))
	for i, c := range auditColumns {
		header[i] = c.name
	}
	cw.Write(header)
	for i := range rep.KOLs {
		row := make([]string, len(auditColumns))
		for j, c := range auditColumns {
			row[j] = formatCell(c.value(rep, &rep.KOLs[i]))
		}
		cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

// moneyType is DECIMAL(18,2): every Money fits (|cents| < 10^18), exactly.
var moneyType = &arrow.Decimal128Type{Precision: 18, Scale: 2}

// AuditArrowSchema is the Parquet export's schema.
func AuditArrowSchema() *arrow.Schema {
	fields := make([]arrow.Field, len(auditColumns))
	for i, c := range auditColumns {
		var t arrow.DataType
		switch c.kind {
		case colString:
			t = arrow.BinaryTypes.String
		case colMoney:
			t = moneyType
		case colCount:
			t = arrow.PrimitiveTypes.Uint64
		case colRate:
			t = arrow.PrimitiveTypes.Float64
		}
		fields[i] = arrow.Field{Name: c.name, Type: t}
	}
	return arrow.NewSchema(fields, nil)
}

// WriteAuditParquet writes the scorecards as one Parquet row group, through Arrow.
func WriteAuditParquet(w *bytes.Buffer, rep *AuditReport) error {
	schema := AuditArrowSchema()
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range rep.KOLs {
		for j, c := range auditColumns {
			switch v := c.value(rep, &rep.KOLs[i]).(type) {
			case string:
				b.Field(j).(*array.StringBuilder).Append(v)
			case Money:
				b.Field(j).(*array.Decimal128Builder).Append(decimal128.FromI64(int64(v)))
			case uint64:
				b.Field(j).(*array.Uint64Builder).Append(v)
			case float64:
				b.Field(j).(*array.Float64Builder).Append(v)
			}
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy))
	fw, err := pqarrow.NewFileWriter(schema, w, props, pqarrow.DefaultWriterProps())
	if err != nil {
		return fmt.Errorf("cannot start the parquet file: %w", err)
	}
	if err := fw.Write(rec); err != nil {
		fw.Close()
		return fmt.Errorf("cannot write parquet rows: %w", err)
	}
	if err := fw.Close(); err != nil {
		return fmt.Errorf("cannot finish the parquet file: %w", err)
	}
	return nil
}

// WriteAuditTable writes the scorecards for people: the figures side by side, then the flags
// with their evidence and each stream with where its minute series is.
func WriteAuditTable(w *bytes.Buffer, rep *AuditReport) error {
	scope := "KOL " + rep.KOLID
	switch {
	case rep.KOLID == "":
		scope = "brand " + rep.BrandID
	case rep.BrandID != "":
		scope += " on brand " + rep.BrandID + " (with the brand's other KOLs)"
	}
	fmt.Fprintf(w, "KOL audit: %s, %s to %s\n\n", scope, rep.From, rep.To)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "KOL\tGMV\tNET GMV\tORDERS\tBUYERS\tCONV\tGPM\tREFUND RATE\tUNIQUE VIEWERS\tPEAK MEASURED\tPEAK DISPLAYED\tFLAGS\t")
	for _, k := range rep.KOLs {
		name := k.KOLID
		if k.Selected && len(rep.KOLs) > 1 {
			name = "▶ " + name
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%.2f%%\t%s\t%.2f%%\t%d\t%d\t%d\t%d\t\n", name, k.GMV, k.NetGMV, k.Orders, k.Buyers,
			100*k.ConversionRate, k.GPM, 100*k.RefundRate, k.UniqueViewers, k.PeakConcurrentViewers, k.PeakDisplayedViewers, k.FlagCount)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, k := range rep.KOLs {
		if len(k.Flags) == 0 && !k.Selected {
			continue
		}
		fmt.Fprintf(w, "\n%s: %d stream(s), %d flag(s)\n", k.KOLID, len(k.Streams), len(k.Flags))
		for _, f := range k.Flags {
			fmt.Fprintf(w, "  [%s %s %.2f, %s] %s on %s, %s to %s\n      %s\n", f.Severity, f.Kind, f.Score, f.State,
				f.FlagID, f.StreamID, f.WindowStart, f.WindowEnd, f.Summary)
		}
		for _, s := range k.Streams {
			fmt.Fprintf(w, "  stream %s (%s, brand %s): GMV %s, %d orders — %s\n", s.StreamID, s.Platform, s.BrandID, s.GMV, s.Orders, s.MinutesURL)
		}
	}
	return nil
}
