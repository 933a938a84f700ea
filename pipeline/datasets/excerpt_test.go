package datasets

import (
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/livepulse/livepulse/schemas"
)

// The excerpts in testdata/datasets (see its README) are always there: these tests never skip.
const excerptDir = "../../testdata/datasets/"

// mapped collects the events a reader emits, after checking that each one passes the contract
// and reads back unchanged (AppendJSON → Decode).
type mapped struct {
	t      *testing.T
	dec    *schemas.Decoder
	events []schemas.Event
	byID   map[string]schemas.Event
}

func newMapped(t *testing.T) *mapped {
	return &mapped{t: t, dec: schemas.NewDecoder(schemas.DecoderConfig{PastHorizon: -1}), byID: make(map[string]schemas.Event)}
}

func (m *mapped) emit(ev schemas.Event) error {
	m.t.Helper()
	raw := ev.AppendJSON(nil)
	var back schemas.Event
	if err := m.dec.Decode(ev.Kind, raw, time.Now(), &back); err != nil {
		m.t.Errorf("%s does not pass the contract: %v", raw, err)
	} else if !reflect.DeepEqual(back, ev) {
		m.t.Errorf("%s reads back as %+v, want %+v", raw, back, ev)
	}
	if n := len(m.events); n > 0 && m.events[n-1].Header().TS > ev.Header().TS {
		m.t.Errorf("%s emitted after a later event", ev.Header().EventID)
	}
	if _, dup := m.byID[ev.Header().EventID]; dup {
		m.t.Errorf("duplicate event_id %s", ev.Header().EventID)
	}
	m.events = append(m.events, ev)
	m.byID[ev.Header().EventID] = ev
	return nil
}

func openExcerpt(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open(excerptDir + name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func money(t *testing.T, s string) schemas.Money {
	t.Helper()
	m, err := schemas.ParseMoney(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05", s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestUCIExcerpt checks ReadUCI's figures on the 52-line excerpt against values computed by hand
// (each invoice's arithmetic below; the README lists why each line is there).
func TestUCIExcerpt(t *testing.T) {
	m := newMapped(t)
	st, err := ReadUCI(openExcerpt(t, "online_retail_excerpt.csv"), UCIOptions{}, m.emit)
	if err != nil {
		t.Fatal(err)
	}
	// Orders (customer, stream):
	//   536403 12791 NL     96 × 1.85 = 177.60 (its POST line skipped)
	//   536555 guest UK     2.55 + 0.42 = 2.97
	//   536591 14606 UK     2.10 + 0.42 + 4.25 + 4 × 0.29 = 7.93 (lines at 16:57 and 16:58: ts 16:57)
	//   537899 12755 Japan  1488 × 2.55 = 3794.40
	//   542694 12908 UK     600 × 0.53 = 318.00
	//   542800 14606 UK     0.72 + 2.95 = 3.67
	//   542806 12836 UK     (1 + 1 + 2 + 2 + 2) × 7.95 + 2 × 9.95 = 83.50 (lines apart: C542805 between)
	//   545645 12755 Japan  5.95 + 9.95 + 1.65 = 17.55
	//   548177 12888 UK     12 × 2.10 + 24 × 3.39 + 10 × 10.65 + 6 × 9.95 = 272.76
	//   552492 12888 UK     24 × 3.39 = 81.36
	//   557092 12908 UK     600 × 0.72 = 432.00
	//   561226 15618 UK     222.83 + 1 × 0.001 (PADS) = 222.831 → 222.83 (rounded)
	//   → 12 orders, GMV 5414.57, 8 buyers; 536414 (one line, price 0.0) makes no order.
	// Refunds:
	//   C538686 guest UK    2.55     unmatched (no customer)
	//   C542693 12908 UK    390.00   unmatched (12908's first order, 542694, comes a minute later)
	//   C542805 14606 UK    3.80     → 542800 (22156, 85054; 536591 has neither)
	//   C548647 12888 UK    29.85    → 548177 (37449)
	//   C548731 12755 Japan 1591.20  → 537899 (22328: the most recent order, 545645, lacks it)
	//   C551646 12888 UK    10.50    → 548177 again (79160), in another minute
	//   C545892, C570708 (M lines only) make no refund.
	//   → 6 refunds, 2027.90; matched 4 (1635.35), unmatched 2 (392.55); 3 refunded orders,
	//     4 (order, minute) pairs.
	want := UCIStats{
		Lines: 52, Kept: 45,
		Skipped:     map[string]int{SkipAdjustment: 3, SkipNonProduct: 3, SkipPrice: 1},
		EmptyOrders: 1, EmptyRefunds: 2, Rounded: 1,
		Orders: 12, GMV: money(t, "5414.57"), Buyers: 8,
		Refunds: 6, RefundAmount: money(t, "2027.90"),
		MatchedRefunds: 4, MatchedRefundAmount: money(t, "1635.35"),
		UnmatchedRefunds: 2, UnmatchedRefundAmount: money(t, "392.55"),
		RefundedOrders: 3, RefundedOrderMinutes: 4,
		First: utc("2010-12-01 11:27:00"), Last: utc("2011-07-26 10:13:00"),
		Streams: map[string]*UCIStreamFigures{
			"uci-Netherlands": {Orders: 1, GMV: money(t, "177.60")},
			"uci-Japan":       {Orders: 2, GMV: money(t, "3811.95"), Refunds: 1, RefundAmount: money(t, "1591.20")},
			"uci-United Kingdom": {Orders: 9, GMV: money(t, "1425.02"), Refunds: 3, RefundAmount: money(t, "44.15"),
				UnmatchedRefunds: 2, UnmatchedRefundAmount: money(t, "392.55")},
		},
	}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("stats\n got %+v\nwant %+v", st, want)
		for id, f := range st.Streams {
			t.Logf("%s: %+v", id, *f)
		}
	}
	if len(m.events) != st.Events() {
		t.Errorf("%d events emitted, stats say %d", len(m.events), st.Events())
	}
	if got, want := st.RefundRate(), 3.0/12; got != want {
		t.Errorf("refund rate %v, want %v", got, want)
	}

	// A few events in full.
	check := func(id string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", id, got, want)
		}
	}
	check("uci-536591", m.byID["uci-536591"].Order, schemas.Order{
		Header:  schemas.Header{EventID: "uci-536591", TS: utc("2010-12-01 16:57:00").UnixMilli(), StreamID: "uci-United Kingdom", KOLID: "kol-United Kingdom", Platform: UCIPlatform},
		OrderID: "536591", BuyerID: "14606", Quantity: 7, Amount: money(t, "7.93"), Currency: "GBP",
	})
	check("uci-536555", m.byID["uci-536555"].Order.BuyerID, "guest-536555")
	check("uci-536403", m.byID["uci-536403"].Order.SKUID, "22867") // one product line: its StockCode
	check("uci-C548731", m.byID["uci-C548731"].Refund, schemas.Refund{
		Header:   schemas.Header{EventID: "uci-C548731", TS: utc("2011-04-04 10:12:00").UnixMilli(), StreamID: "uci-Japan", KOLID: "kol-Japan", Platform: UCIPlatform},
		RefundID: "C548731", OrderID: "537899", BuyerID: "12755", Amount: money(t, "1591.20"), Currency: "GBP", Reason: "cancelled",
	})
	check("uci-C542693", m.byID["uci-C542693"].Refund.OrderID, "unknown-C542693")
	check("uci-C538686", m.byID["uci-C538686"].Refund.BuyerID, "guest-C538686")
	check("uci-C551646", m.byID["uci-C551646"].Refund.OrderID, "548177")
	for _, id := range []string{"uci-536414", "uci-C545892", "uci-C570708", "uci-A563185"} {
		if _, ok := m.byID[id]; ok {
			t.Errorf("%s emitted: it has no kept line", id)
		}
	}

	// A slice: Until keeps the lines before it.
	st, err = ReadUCI(openExcerpt(t, "online_retail_excerpt.csv"), UCIOptions{Until: utc("2011-01-01 00:00:00")}, func(schemas.Event) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if st.LinesAfter != 41 || st.Orders != 4 || st.GMV != money(t, "3982.90") || st.Refunds != 1 || st.UnmatchedRefunds != 1 {
		t.Errorf("until 2011: %+v", st)
	}
}

// TestTaobaoExcerpt checks ReadTaobao's figures on the 26-row excerpt (every row of six users)
// against values computed by hand.
func TestTaobaoExcerpt(t *testing.T) {
	m := newMapped(t)
	st, err := ReadTaobao(openExcerpt(t, "taobao_user_behavior_excerpt.csv"), m.emit)
	if err != nil {
		t.Fatal(err)
	}
	// pv (14): joins = the first pv of 460076/3113031, 682317/1320293, 682317/982926 (its earlier
	// fav there is no join), 533751/4558987, 154980/3648733, 773144/2033408, 154980/3673049,
	// 773144/149192 = 8; heartbeats = the dataset's rows 4651, 14111, 17642, 24883, 81916, 88567 = 6.
	// fav 4 (likes), cart 4 (follows). buy 4, priced 100 + item_id mod 49,900 fen:
	//   4680673 → 400.73, 212818 → 133.18, 2583697 → 388.97, 1560230 → 134.30: 1057.18.
	// Viewers 682317, 460076, 533751, 154980, 773144 = 5 (all with a pv); buyers 23125 (buys
	// only), 533751, 773144, 154980 = 4, 3 of them viewers: conversion 4 / 5.
	want := TaobaoStats{
		Rows: 26, ByBehavior: map[string]int{"pv": 14, "fav": 4, "cart": 4, "buy": 4},
		Joins: 8, Heartbeats: 6, Likes: 4, Follows: 4, Orders: 4, GMV: money(t, "1057.18"),
		Viewers: 5, PageViewers: 5, Buyers: 4, ViewersWhoBought: 3, Sessions: 11, Streams: 11,
		First: utc("2017-11-26 01:00:03"), Last: utc("2017-11-26 02:47:03"),
	}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("stats\n got %+v\nwant %+v", st, want)
	}
	if st.ConversionRate() != 0.8 {
		t.Errorf("conversion %v, want 0.8", st.ConversionRate())
	}
	if len(m.events) != 26 {
		t.Errorf("%d events, want 26", len(m.events))
	}
	check := func(id string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", id, got, want)
		}
	}
	// Rows are numbered within the file read: the excerpt's row 9 is the dataset's row 4946.
	check("tb-9", m.byID["tb-9"].Viewer, schemas.Viewer{
		Header: schemas.Header{EventID: "tb-9", TS: 1511658413000, StreamID: "taobao-982926", KOLID: "kol-26", Platform: TaobaoPlatform},
		Action: schemas.ActionJoin, ViewerID: "682317", SessionID: "682317-982926",
	})
	check("tb-1", m.byID["tb-1"].Viewer.Kind, schemas.EngageLike)
	check("tb-12", m.byID["tb-12"].Viewer.Kind, schemas.EngageFollow)
	check("tb-8", m.byID["tb-8"].Viewer.Action, schemas.ActionHeartbeat)
	check("tb-2", m.byID["tb-2"].Order, schemas.Order{
		Header:  schemas.Header{EventID: "tb-2", TS: 1511658009000, StreamID: "taobao-1756314", KOLID: "kol-14", Platform: TaobaoPlatform},
		OrderID: "tb-order-2", BuyerID: "23125", SKUID: "4680673", Quantity: 1, Amount: money(t, "400.73"), Currency: "CNY",
	})
}

func TestRoundTenths(t *testing.T) {
	for _, c := range []struct {
		tenths int64
		want   string
		exact  bool
	}{
		{0, "0.00", true}, {1, "0.00", false}, {4, "0.00", false}, {5, "0.01", false}, {9, "0.01", false},
		{10, "0.01", true}, {222831, "222.83", false}, {222835, "222.84", false}, {-15, "0.02", false}, {-14, "0.01", false},
		{-3900, "3.90", true},
	} {
		got, exact := roundTenths(c.tenths)
		if got.String() != c.want || exact != c.exact {
			t.Errorf("roundTenths(%d) = %s, %v; want %s, %v", c.tenths, got, exact, c.want, c.exact)
		}
	}
}

func TestParseThousandths(t *testing.T) {
	for s, want := range map[string]int64{"2.55": 2550, "2.1": 2100, "0.001": 1, "15.0": 15000, "-11062.06": -11062060, "0": 0, "0.0": 0, "123": 123000} {
		if got, err := parseThousandths(s); err != nil || got != want {
			t.Errorf("parseThousandths(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "1.2345", ".5", "5.", "1e-05", "1,5", "--1", "abc", "1.2.3"} {
		if got, err := parseThousandths(s); err == nil {
			t.Errorf("parseThousandths(%q) = %d, want an error", s, got)
		}
	}
}

func TestParseUCITime(t *testing.T) {
	for _, s := range []string{"2010-12-01 08:26:00", "12/1/2010 8:26"} {
		got, err := parseUCITime(s)
		if err != nil || got != utc("2010-12-01 08:26:00").UnixMilli() {
			t.Errorf("parseUCITime(%q) = %d, %v", s, got, err)
		}
	}
}
