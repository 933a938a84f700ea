package datasets

import (
	"cmp"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/livepulse/livepulse/schemas"
)

// The Taobao user-behaviour mapping. Each row (user_id,item_id,category_id,behavior,timestamp;
// no header) is one event; rows are numbered from 1 in file order and event_id = "tb-<row>".
//
//   - stream_id = "taobao-<category_id>": a category stands in for a live room; kol_id =
//     "kol-<category_id mod 100>"; platform = "taobao"; ts = timestamp (Unix seconds, UTC) × 1000.
//   - A viewer is the user: viewer_id = user_id, session_id = "<user_id>-<category_id>" (a
//     session is a user in a category).
//   - pv: the user's first pv in the category is a join, every later one a heartbeat.
//   - fav (favourite) is an engage of kind like; cart (add to cart) an engage of kind follow: the
//     user keeps the item to come back to, the nearest the contract's kinds (like, comment, share,
//     follow) have. Neither opens the session explicitly (livepulse opens it implicitly).
//   - buy is an order: order_id = "tb-order-<row>", buyer_id = user_id, sku_id = item_id,
//     quantity 1, currency CNY. The data has no prices, so the amount is SYNTHETIC and
//     deterministic: TaobaoPrice(item_id) = 1.00 + (item_id mod 49,900) fen, i.e. 1.00 to
//     499.99 CNY, the same for every buy of an item. What the Taobao check is about, the
//     conversion rate (distinct buyers / distinct viewers), does not depend on it.
//
// A row with another behaviour, or that does not parse, is an error: the dataset has only these four.

// TaobaoPlatform is the platform of every Taobao event; TaobaoCurrency the orders' currency.
const (
	TaobaoPlatform = "taobao"
	TaobaoCurrency = "CNY"
)

// TaobaoPrice is the synthetic price of an item: 1.00 + (item_id mod 49,900) fen.
func TaobaoPrice(itemID uint64) schemas.Money { return schemas.Money(100 + itemID%49_900) }

// TaobaoStream returns the stream_id of a category.
func TaobaoStream(category uint64) string { return "taobao-" + strconv.FormatUint(category, 10) }

// TaobaoStats are the figures of a Taobao file, computed from the CSV alone.
type TaobaoStats struct {
	Rows       int
	ByBehavior map[string]int // rows per behaviour: pv, fav, cart, buy

	Joins, Heartbeats int // pv rows: the first of a (user, category), the others
	Likes, Follows    int // fav, cart rows: engages
	Orders            int // buy rows
	GMV               schemas.Money

	Viewers          int // distinct users with a viewer event (pv, fav or cart)
	PageViewers      int // distinct users with a pv
	Buyers           int // distinct users with a buy
	ViewersWhoBought int // distinct users with a viewer event and a buy
	Sessions         int // distinct (user, category) with a viewer event
	Streams          int // distinct categories

	First, Last time.Time
}

// Engagements is the number of engage events.
func (s TaobaoStats) Engagements() int { return s.Likes + s.Follows }

// ConversionRate is distinct buyers per distinct viewer.
func (s TaobaoStats) ConversionRate() float64 {
	if s.Viewers == 0 {
		return 0
	}
	return float64(s.Buyers) / float64(s.Viewers)
}

type taobaoRow struct {
	row             int
	user, item, cat uint64
	behavior        string
	ts              int64 // Unix ms
}

// ReadTaobao maps a Taobao user-behaviour CSV onto the contract, calling emit with each event in
// event-time order (ties: file order), and returns the file's figures. The whole file is read
// before the first emit. emit's error stops the reading and is returned.
func ReadTaobao(r io.Reader, emit func(schemas.Event) error) (TaobaoStats, error) {
	st := TaobaoStats{ByBehavior: make(map[string]int)}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 5
	cr.ReuseRecord = true
	var rows []taobaoRow
	for n := 1; ; n++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, fmt.Errorf("taobao: %w", err)
		}
		row := taobaoRow{row: n}
		for i, dst := range []*uint64{&row.user, &row.item, &row.cat} {
			if *dst, err = strconv.ParseUint(rec[i], 10, 64); err != nil {
				return st, fmt.Errorf("taobao: row %d: column %d %q: %w", n, i+1, rec[i], err)
			}
		}
		switch rec[3] {
		case "pv", "fav", "cart", "buy":
			row.behavior = rec[3]
		default:
			return st, fmt.Errorf("taobao: row %d: unknown behavior %q", n, rec[3])
		}
		sec, err := strconv.ParseInt(rec[4], 10, 64)
		if err != nil {
			return st, fmt.Errorf("taobao: row %d: timestamp %q: %w", n, rec[4], err)
		}
		row.ts = sec * 1000
		rows = append(rows, row)
	}
	slices.SortStableFunc(rows, func(a, b taobaoRow) int { return cmp.Compare(a.ts, b.ts) })

	type session struct{ user, cat uint64 }
	joined := make(map[session]bool)
	sessions := make(map[session]bool)
	viewers, pageViewers, buyers := make(map[uint64]bool), make(map[uint64]bool), make(map[uint64]bool)
	streams := make(map[uint64]bool)
	for _, row := range rows {
		st.Rows++
		st.ByBehavior[row.behavior]++
		streams[row.cat] = true
		user := strconv.FormatUint(row.user, 10)
		h := schemas.Header{
			EventID:  "tb-" + strconv.Itoa(row.row),
			TS:       row.ts,
			StreamID: TaobaoStream(row.cat),
			KOLID:    "kol-" + strconv.FormatUint(row.cat%100, 10),
			Platform: TaobaoPlatform,
		}
		if st.First.IsZero() {
			st.First = time.UnixMilli(row.ts).UTC()
		}
		st.Last = time.UnixMilli(row.ts).UTC()
		var ev schemas.Event
		if row.behavior == "buy" {
			st.Orders++
			amount := TaobaoPrice(row.item)
			st.GMV += amount
			buyers[row.user] = true
			ev = schemas.Event{Kind: schemas.KindOrder, Order: schemas.Order{
				Header: h, OrderID: "tb-order-" + strconv.Itoa(row.row), BuyerID: user,
				SKUID: strconv.FormatUint(row.item, 10), Quantity: 1, Amount: amount, Currency: TaobaoCurrency,
			}}
		} else {
			s := session{row.user, row.cat}
			sessions[s] = true
			viewers[row.user] = true
			v := schemas.Viewer{Header: h, ViewerID: user, SessionID: user + "-" + strconv.FormatUint(row.cat, 10)}
			switch row.behavior {
			case "pv":
				pageViewers[row.user] = true
				if joined[s] {
					v.Action = schemas.ActionHeartbeat
					st.Heartbeats++
				} else {
					joined[s] = true
					v.Action = schemas.ActionJoin
					st.Joins++
				}
			case "fav":
				v.Action, v.Kind = schemas.ActionEngage, schemas.EngageLike
				st.Likes++
			case "cart":
				v.Action, v.Kind = schemas.ActionEngage, schemas.EngageFollow
				st.Follows++
			}
			ev = schemas.Event{Kind: schemas.KindViewer, Viewer: v}
		}
		if err := emit(ev); err != nil {
			return st, err
		}
	}
	st.Viewers, st.PageViewers, st.Buyers = len(viewers), len(pageViewers), len(buyers)
	for u := range buyers {
		if viewers[u] {
			st.ViewersWhoBought++
		}
	}
	st.Sessions, st.Streams = len(sessions), len(streams)
	return st, nil
}
