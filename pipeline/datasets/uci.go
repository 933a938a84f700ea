// Package datasets maps public real-world datasets onto the livepulse event contract, so the
// pipeline can be checked against traffic nobody on the project wrote. Each reader turns a CSV
// file into schemas.Event values (in event-time order) and, alongside, computes the figures the
// pipeline should arrive at with plain Go arithmetic over the CSV: nothing in this package uses
// the pipeline, so the figures are an independent oracle for it.
//
// The datasets themselves live outside the repository (../shared/datasets from the repository
// root, see its README); testdata/datasets holds a small excerpt of each with the attribution.
//
// UCI Online Retail (uci.go): real orders and cancellations of a UK online retailer, GBP.
// Taobao user behaviour (taobao.go): a real clickstream (page views, favourites, carts, buys).
package datasets

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/livepulse/livepulse/schemas"
)

// The UCI "Online Retail" mapping.
//
//   - One invoice (InvoiceNo) is one order: order_id = InvoiceNo, event_id = "uci-<InvoiceNo>",
//     buyer_id = CustomerID ("17850.0" in the file is written "17850"), or "guest-<InvoiceNo>"
//     when the CustomerID is empty, so guest invoices never share a buyer. Lines of one invoice
//     need not be adjacent in the file (one is not), they are grouped by InvoiceNo.
//   - amount = Σ Quantity × UnitPrice over the invoice's kept lines, computed exactly in integer
//     tenths of a penny (UnitPrice has at most 3 decimals; more is an error), then rounded
//     half-up to the penny once per invoice: 1 × £0.001 is £0.00, 5 × £0.001 is £0.01. Currency
//     GBP. quantity = Σ Quantity of the kept lines (capped at the contract's 1,000,000); sku_id =
//     the StockCode when the kept lines have a single one, else empty.
//   - ts = the InvoiceDate of the invoice's first line in the file (a few invoices straddle a
//     minute boundary), read as UTC. The file writes "2010-12-01 08:26:00"; the original UCI
//     export's "12/1/2010 8:26" is accepted too.
//   - stream_id = "uci-<Country>" (one stream per country for the whole year: a refund then lives
//     in the same stream, hence the same Kafka partition and metrics shard, as its order),
//     kol_id = "kol-<Country>", platform = "uci-online-retail". The country, like the customer,
//     is the first line's.
//   - An invoice starting with "C" is a cancellation: one refund, refund_id = InvoiceNo, amount =
//     |Σ Quantity × UnitPrice| of its kept lines (exact, then half-up as for orders), buyer_id as
//     for orders, reason "cancelled". Its order is found by a heuristic, since the data does not
//     name it: the same customer's most recent earlier order (earlier in event-time order: an
//     earlier InvoiceDate, or the same one with its first line earlier in the file) containing at
//     least one StockCode of the cancellation's kept lines. Without a CustomerID, or without such
//     an order, the refund names order "unknown-<InvoiceNo>", an order that never exists, so
//     livepulse must count it unmatched (on the refund's own stream).
//
// Lines skipped, each counted under its reason in UCIStats.Skipped:
//
//   - SkipAdjustment: invoices that are neither orders nor cancellations ("A563185", "Adjust bad
//     debt"): accounting entries, not sales.
//   - SkipNonProduct: StockCodes that are charges or bookkeeping, not merchandise: POST, DOT, C2
//     (postage, carriage), M/m (manual), D (discount), S (samples), B (bad debt), BANK CHARGES,
//     AMAZONFEE, CRUK (commission). GMV counts goods only. Gift vouchers (gift_0001_*), the DCGS*
//     party bags and PADS are sold items and are kept.
//   - SkipPrice: UnitPrice ≤ 0 (free items and stock adjustments: "damaged", "lost", …; every
//     non-cancellation line with a negative Quantity has price 0 and goes here too).
//   - SkipQuantity: a Quantity whose sign contradicts the invoice (an order line ≤ 0, a
//     cancellation line ≥ 0). None in the file; guarded anyway.
//
// An invoice left with no line produces no event (UCIStats.EmptyOrders, EmptyRefunds).

// Reasons a UCI line is skipped.
const (
	SkipAdjustment = "adjustment_invoice"
	SkipNonProduct = "non_product_code"
	SkipPrice      = "price_not_positive"
	SkipQuantity   = "quantity_sign"
)

// UCIPlatform is the platform of every UCI event; UCICurrency their currency.
const (
	UCIPlatform = "uci-online-retail"
	UCICurrency = "GBP"
)

// uciNonProduct lists the StockCodes that are not merchandise.
var uciNonProduct = map[string]bool{
	"POST": true, "DOT": true, "C2": true, "M": true, "m": true, "D": true, "S": true, "B": true,
	"BANK CHARGES": true, "AMAZONFEE": true, "CRUK": true,
}

// UCIStream returns the stream_id of a country.
func UCIStream(country string) string { return "uci-" + country }

// UCIOptions bounds what ReadUCI maps. The zero value maps the whole file.
type UCIOptions struct {
	// Until, if not zero, keeps only the lines whose InvoiceDate is before it: a deterministic
	// slice (counted in UCIStats.LinesAfter). Invoices are matched only against kept orders.
	Until time.Time
}

// UCIStreamFigures are the figures of one stream as stream_metrics_1m attributes them: orders
// on their own stream, matched refunds on their ORDER's stream, unmatched ones on their own.
type UCIStreamFigures struct {
	Orders                int
	GMV                   schemas.Money
	Refunds               int // matched refunds attributed to the stream's orders
	RefundAmount          schemas.Money
	UnmatchedRefunds      int
	UnmatchedRefundAmount schemas.Money
}

// UCIStats are the figures of a UCI file, computed from the CSV alone.
type UCIStats struct {
	Lines      int            // data lines read (the header excluded)
	LinesAfter int            // lines at or after UCIOptions.Until, ignored
	Skipped    map[string]int // lines skipped, by reason
	Kept       int            // lines mapped into an order or a refund

	EmptyOrders, EmptyRefunds int // invoices with no kept line: no event
	Rounded                   int // events whose exact amount was not whole pence (rounded half-up)

	Orders int
	GMV    schemas.Money // Σ order amounts
	Buyers int           // distinct buyer_id of orders (guests count one each)

	Refunds               int
	RefundAmount          schemas.Money
	MatchedRefunds        int
	MatchedRefundAmount   schemas.Money
	UnmatchedRefunds      int
	UnmatchedRefundAmount schemas.Money
	// RefundedOrders: distinct orders named by a matched refund.
	RefundedOrders int
	// RefundedOrderMinutes: distinct (order's stream, refund's minute, order): what
	// Σ refunded_orders over stream_metrics_1m counts (an order refunded in two minutes twice).
	RefundedOrderMinutes int

	First, Last time.Time // event-time range of the events
	Streams     map[string]*UCIStreamFigures
}

// RefundRate is refunded orders per order.
func (s UCIStats) RefundRate() float64 {
	if s.Orders == 0 {
		return 0
	}
	return float64(s.RefundedOrders) / float64(s.Orders)
}

// Events returns the number of events mapped.
func (s UCIStats) Events() int { return s.Orders + s.Refunds }

// uciInvoice accumulates the kept lines of one invoice.
type uciInvoice struct {
	no       string
	first    int   // line number of its first line
	ts       int64 // Unix ms of its first line
	customer string
	country  string
	cancel   bool
	tenths   int64 // Σ Quantity × UnitPrice in tenths of a penny (negative for a cancellation)
	quantity int64
	codes    []string // distinct kept StockCodes, in file order
	kept     int
}

// uciColumns is the header ReadUCI expects.
var uciColumns = []string{"InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"}

// ReadUCI maps a UCI Online Retail CSV (with its header) onto the contract, calling emit with
// each order and refund in event-time order (ties: the file order of the invoices' first lines),
// and returns the file's figures. The whole file is read before the first emit: an invoice's
// lines may be apart. emit's error stops the reading and is returned.
func ReadUCI(r io.Reader, opt UCIOptions, emit func(schemas.Event) error) (UCIStats, error) {
	st := UCIStats{Skipped: make(map[string]int), Streams: make(map[string]*UCIStreamFigures)}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(uciColumns)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return st, fmt.Errorf("uci: cannot read the header: %w", err)
	}
	if !slices.Equal(head, uciColumns) {
		return st, fmt.Errorf("uci: header %q, want %q", head, uciColumns)
	}
	until := int64(0)
	if !opt.Until.IsZero() {
		until = opt.Until.UnixMilli()
	}
	byNo := make(map[string]*uciInvoice)
	var invoices []*uciInvoice
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, fmt.Errorf("uci: %w", err)
		}
		st.Lines++
		no, code := rec[0], rec[1]
		ts, err := parseUCITime(rec[4])
		if err != nil {
			return st, fmt.Errorf("uci: line %d: InvoiceDate %q: %w", line, rec[4], err)
		}
		if until != 0 && ts >= until {
			st.LinesAfter++
			continue
		}
		qty, err := strconv.ParseInt(rec[3], 10, 64)
		if err != nil {
			return st, fmt.Errorf("uci: line %d: Quantity %q: %w", line, rec[3], err)
		}
		price, err := parseThousandths(rec[5])
		if err != nil {
			return st, fmt.Errorf("uci: line %d: UnitPrice %q: %w", line, rec[5], err)
		}
		inv := byNo[no]
		if inv == nil {
			inv = &uciInvoice{no: no, first: line, ts: ts, customer: customerID(rec[6]), country: rec[7], cancel: strings.HasPrefix(no, "C")}
			byNo[no] = inv
			invoices = append(invoices, inv)
		}
		switch {
		case !isInvoiceNo(no):
			st.Skipped[SkipAdjustment]++
			continue
		case uciNonProduct[code]:
			st.Skipped[SkipNonProduct]++
			continue
		case price <= 0:
			st.Skipped[SkipPrice]++
			continue
		case inv.cancel && qty >= 0, !inv.cancel && qty <= 0:
			st.Skipped[SkipQuantity]++
			continue
		}
		st.Kept++
		inv.kept++
		inv.tenths += qty * price
		inv.quantity += qty
		if !slices.Contains(inv.codes, code) {
			inv.codes = append(inv.codes, code)
		}
	}
	slices.SortStableFunc(invoices, func(a, b *uciInvoice) int {
		if a.ts != b.ts {
			return cmp.Compare(a.ts, b.ts)
		}
		return cmp.Compare(a.first, b.first)
	})

	// Orders with a customer, by customer, in event-time order: the refund heuristic's history.
	type placed struct {
		id, stream string
		codes      []string
	}
	history := make(map[string][]placed)
	buyers := make(map[string]bool)
	refunded := make(map[string]bool)
	refundedMinutes := make(map[[3]string]bool)
	stream := func(id string) *UCIStreamFigures {
		f := st.Streams[id]
		if f == nil {
			f = &UCIStreamFigures{}
			st.Streams[id] = f
		}
		return f
	}
	var ev schemas.Event
	for _, inv := range invoices {
		if inv.kept == 0 {
			if inv.cancel {
				st.EmptyRefunds++
			} else if isInvoiceNo(inv.no) {
				st.EmptyOrders++
			}
			continue
		}
		amount, exact := roundTenths(inv.tenths)
		if !exact {
			st.Rounded++
		}
		h := schemas.Header{
			EventID:  "uci-" + inv.no,
			TS:       inv.ts,
			StreamID: UCIStream(inv.country),
			KOLID:    "kol-" + inv.country,
			Platform: UCIPlatform,
		}
		buyer := inv.customer
		if buyer == "" {
			buyer = "guest-" + inv.no
		}
		if st.First.IsZero() {
			st.First = time.UnixMilli(inv.ts).UTC()
		}
		st.Last = time.UnixMilli(inv.ts).UTC()
		if !inv.cancel {
			sku := ""
			if len(inv.codes) == 1 {
				sku = inv.codes[0]
			}
			ev = schemas.Event{Kind: schemas.KindOrder, Order: schemas.Order{
				Header: h, OrderID: inv.no, BuyerID: buyer, SKUID: sku,
				Quantity: uint32(min(inv.quantity, 1_000_000)), Amount: amount, Currency: UCICurrency,
			}}
			st.Orders++
			st.GMV += amount
			buyers[buyer] = true
			f := stream(h.StreamID)
			f.Orders++
			f.GMV += amount
			if inv.customer != "" {
				history[inv.customer] = append(history[inv.customer], placed{id: inv.no, stream: h.StreamID, codes: inv.codes})
			}
		} else {
			order, orderStream := "", ""
			if inv.customer != "" {
				past := history[inv.customer]
				for i := len(past) - 1; i >= 0 && order == ""; i-- {
					for _, c := range inv.codes {
						if slices.Contains(past[i].codes, c) {
							order, orderStream = past[i].id, past[i].stream
							break
						}
					}
				}
			}
			st.Refunds++
			st.RefundAmount += amount
			if order != "" {
				st.MatchedRefunds++
				st.MatchedRefundAmount += amount
				refunded[order] = true
				refundedMinutes[[3]string{orderStream, strconv.FormatInt(inv.ts-mod(inv.ts, 60_000), 10), order}] = true
				f := stream(orderStream)
				f.Refunds++
				f.RefundAmount += amount
			} else {
				order = "unknown-" + inv.no
				st.UnmatchedRefunds++
				st.UnmatchedRefundAmount += amount
				f := stream(h.StreamID)
				f.UnmatchedRefunds++
				f.UnmatchedRefundAmount += amount
			}
			ev = schemas.Event{Kind: schemas.KindRefund, Refund: schemas.Refund{
				Header: h, RefundID: inv.no, OrderID: order, BuyerID: buyer, Amount: amount,
				Currency: UCICurrency, Reason: "cancelled",
			}}
		}
		if err := emit(ev); err != nil {
			return st, err
		}
	}
	st.Buyers = len(buyers)
	st.RefundedOrders = len(refunded)
	st.RefundedOrderMinutes = len(refundedMinutes)
	return st, nil
}

// isInvoiceNo reports whether no is an order ("536365") or a cancellation ("C536379").
func isInvoiceNo(no string) bool {
	no = strings.TrimPrefix(no, "C")
	if no == "" {
		return false
	}
	for i := 0; i < len(no); i++ {
		if no[i] < '0' || no[i] > '9' {
			return false
		}
	}
	return true
}

// customerID writes the file's float-looking ids ("17850.0") as the integers they are.
func customerID(s string) string {
	return strings.TrimSuffix(s, ".0")
}

// uciLayouts are the InvoiceDate formats accepted: the file's, and the original UCI export's.
var uciLayouts = []string{"2006-01-02 15:04:05", "1/2/2006 15:04"}

// parseUCITime reads an InvoiceDate as UTC, in Unix ms.
func parseUCITime(s string) (int64, error) {
	var err error
	for _, layout := range uciLayouts {
		var t time.Time
		if t, err = time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, err
}

var errPrice = errors.New("not a decimal with at most 3 fraction digits")

// parseThousandths reads a decimal with at most 3 fraction digits ("2.55", "-11062.06", "0.001")
// exactly, in thousandths (for pounds: tenths of a penny).
func parseThousandths(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" || len(frac) > 3 || (strings.Contains(s, ".") && frac == "") || len(intPart) > 12 {
		return 0, errPrice
	}
	v := int64(0)
	for _, part := range []string{intPart, frac + "000"[len(frac):]} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return 0, errPrice
			}
			v = v*10 + int64(part[i]-'0')
		}
	}
	if neg {
		v = -v
	}
	return v, nil
}

// roundTenths rounds an exact amount in tenths of a penny to the penny, half-up on the magnitude
// (a cancellation's negative total becomes a positive refund amount), and says whether it was
// whole pence already.
func roundTenths(t int64) (schemas.Money, bool) {
	if t < 0 {
		t = -t
	}
	return schemas.Money((t + 5) / 10), t%10 == 0
}

func mod(a, b int64) int64 { return (a%b + b) % b }
