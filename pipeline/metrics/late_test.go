package metrics

import (
	"testing"

	"github.com/livepulse/livepulse/schemas/idhash"
)

func TestLateness(t *testing.T) {
	ctx := t.Context()
	m0 := rowKey{"s", t0}

	t.Run("within lateness: corrects and emits again", func(t *testing.T) {
		sh := NewShard(0, Config{}, nil)
		sh.Add(order("s", "o1", "b1", 100, at(0, 10)), at(0, 5))
		if rows := sh.Advance(ctx, at(0, 59.999)); len(rows) != 0 {
			t.Fatalf("minute emitted before its end: %+v", rows)
		}
		rows := sh.Advance(ctx, at(1, 0))
		if len(rows) != 1 || rows[0].Orders != 1 || rows[0].GMV != 100 {
			t.Fatalf("first emission %+v", rows)
		}
		if rows := sh.Advance(ctx, at(1, 10)); len(rows) != 0 {
			t.Fatalf("unchanged minute emitted again: %+v", rows)
		}
		if late := sh.Add(order("s", "o2", "b2", 50, at(0, 30)), at(1, 59.999)); late {
			t.Fatal("within lateness reported late")
		}
		rows = sh.Advance(ctx, at(1, 59.999))
		if len(rows) != 1 || rows[0].Orders != 2 || rows[0].GMV != 150 || rows[0].Buyers != 2 {
			t.Fatalf("correction %+v", rows)
		}
		if rows := sh.Advance(ctx, at(2, 0)); len(rows) != 0 { // final, unchanged: not emitted
			t.Fatalf("final unchanged minute emitted: %+v", rows)
		}
		if st := sh.Stats(); st.OpenMinutes != 0 || st.FinalRows != 1 {
			t.Fatalf("final minute not closed: %+v", st)
		}
	})

	t.Run("beyond lateness: late, counted in late_events only", func(t *testing.T) {
		sh := NewShard(0, Config{}, nil)
		sh.Add(join("s", "v1", "", at(0, 10)), at(0, 5))
		sh.Add(order("s", "o1", "b1", 100, at(0, 20)), at(0, 5))
		before := emissions{}
		before.add(t, sh.Advance(ctx, at(2, 0))) // minute 0 final
		want := before[m0]
		for i, e := range ev(order("s", "o2", "b2", 50, at(0, 30)), join("s", "v2", "", at(0, 40)), countEv("s", 9, at(0, 50)), refund("s", "r", "o1", 10, at(0, 55))) {
			if !sh.Add(e, at(2, 0)) {
				t.Fatalf("event %d not late", i)
			}
		}
		rows := sh.Advance(ctx, at(2, 1))
		if len(rows) != 1 {
			t.Fatalf("rows %+v", rows)
		}
		want.LateEvents = 4
		if rows[0] != want {
			t.Fatalf("late re-emission\n got %+v\nwant %+v", rows[0], want)
		}
		if rows := sh.Advance(ctx, at(2, 2)); len(rows) != 0 {
			t.Fatalf("emitted again without change: %+v", rows)
		}
	})

	t.Run("late decided by the caller's watermark before Advance closed the minute", func(t *testing.T) {
		sh := NewShard(0, Config{}, nil)
		sh.Add(order("s", "o1", "b1", 100, at(0, 20)), at(0, 5))
		if !sh.Add(order("s", "o2", "b1", 100, at(0, 30)), at(2, 0)) {
			t.Fatal("not late")
		}
		rows := sh.Advance(ctx, at(2, 0))
		if len(rows) != 1 || rows[0].Orders != 1 || rows[0].LateEvents != 1 {
			t.Fatalf("rows %+v", rows)
		}
	})

	t.Run("late in a minute that had no row: a row of zeros", func(t *testing.T) {
		sh := NewShard(0, Config{}, nil)
		sh.Add(order("s", "o1", "b1", 100, at(3, 0)), at(3, 0))
		sh.Advance(ctx, at(5, 0))
		if !sh.Add(order("s", "o2", "b1", 100, at(1, 0)), at(5, 0)) {
			t.Fatal("not late")
		}
		rows := sh.Advance(ctx, at(5, 0))
		want := MinuteRow{Minute: at(1, 0), StreamID: "s", KOLID: "kol-s", BrandID: "brand", Platform: "tiktok", LateEvents: 1}
		if len(rows) != 1 || rows[0] != want {
			t.Fatalf("rows %+v", rows)
		}
	})

	t.Run("late beyond the retention: dropped, counted in stats", func(t *testing.T) {
		sh := NewShard(0, Config{LateRetention: 5 * 60e9}, nil)
		sh.Add(order("s", "o1", "b1", 100, at(0, 0)), at(0, 0))
		sh.Advance(ctx, at(8, 0)) // minute 0 final at 2:00; retained until 7:00
		if st := sh.Stats(); st.FinalRows != 0 {
			t.Fatalf("final row kept past retention: %+v", st)
		}
		if !sh.Add(order("s", "o2", "b1", 100, at(0, 5)), at(8, 0)) {
			t.Fatal("not late")
		}
		if rows := sh.Advance(ctx, at(8, 1)); len(rows) != 0 {
			t.Fatalf("a row without its figures was emitted: %+v", rows)
		}
		if st := sh.Stats(); st.LateDropped != 1 {
			t.Fatalf("stats %+v", st)
		}
	})

	t.Run("late events do not touch sessions", func(t *testing.T) {
		sh := NewShard(0, Config{}, nil)
		sh.Add(join("s", "v1", "x", at(2, 10)), at(2, 0))
		sh.Advance(ctx, at(2, 30))
		if !sh.Add(leave("s", "v1", "x", at(0, 30)), at(2, 30)) {
			t.Fatal("not late")
		}
		rows := emissions{}
		rows.add(t, sh.Flush(ctx))
		if r, _ := rows.row("s", 2); r.ConcurrentViewers != 1 || r.SessionsEnded != 1 || r.Leaves != 0 {
			t.Fatalf("row %+v", r)
		}
		if r, _ := rows.row("s", 0); r.LateEvents != 1 || r.Leaves != 0 {
			t.Fatalf("late row %+v", r)
		}
	})
}

// TestSessionEndConfirmation: before the watermark confirms a timeout, a minute's first emission
// does not count it as ended; the final emission does, whatever the cadence.
func TestSessionEndConfirmation(t *testing.T) {
	ctx := t.Context()
	sh := NewShard(0, Config{}, nil)
	sh.Add(join("s", "v1", "x", at(0, 10)), at(0, 0))
	sh.Add(join("s", "v2", "y", at(0, 40)), at(0, 0))
	rows := sh.Advance(ctx, at(1, 0))
	if len(rows) != 1 || rows[0].SessionsEnded != 0 || rows[0].ConcurrentViewers != 2 {
		t.Fatalf("first emission %+v", rows)
	}
	rows = sh.Advance(ctx, at(1, 10)) // v1 timed out at 1:10
	if len(rows) != 1 || rows[0].SessionsEnded != 1 || rows[0].WatchMSEnded != 0 {
		t.Fatalf("after v1's timeout %+v", rows)
	}
	sh.Add(beat("s", "v2", "y", at(1, 30)), at(1, 20)) // v2 alive: ends in minute 1 now
	rows = sh.Advance(ctx, at(2, 0))
	if len(rows) != 1 || rows[0].Minute != at(1, 0) || rows[0].SessionsEnded != 0 {
		t.Fatalf("minute 1 first emission %+v", rows)
	}
	rows = sh.Advance(ctx, at(2, 30))
	if len(rows) != 1 || rows[0].SessionsEnded != 1 || rows[0].WatchMSEnded != 50_000 {
		t.Fatalf("after v2's timeout %+v", rows)
	}
}

// TestSessionFrozenEnd: a heartbeat that is not late but arrives after its session's last_seen
// minute became final cannot move that end: the old session closes at the heartbeat (no overlap)
// and a new one opens there.
func TestSessionFrozenEnd(t *testing.T) {
	ctx := t.Context()
	sh := NewShard(0, Config{}, nil)
	sh.Add(join("s", "v", "x", at(0, 30)), at(0, 0)) // provisionally times out at 1:30
	rows := emissions{}
	rows.add(t, sh.Advance(ctx, at(2, 0))) // minute 0 final
	if late := sh.Add(beat("s", "v", "x", at(1, 20)), at(2, 0)); late {
		t.Fatal("late")
	}
	if s := sh.streams["s"].sessions.Get(idhash.String(idhash.Session, "x")); s == nil || s.open != at(1, 20) || s.frozen {
		t.Fatalf("session %+v, want a new one from 1:20", s)
	}
	rows.add(t, sh.Flush(ctx))
	r0, _ := rows.row("s", 0)
	r1, _ := rows.row("s", 1)
	if r0.SessionsEnded != 1 || r0.ConcurrentViewers != 1 {
		t.Fatalf("minute 0 %+v", r0)
	}
	if r1.SessionsEnded != 1 || r1.WatchMSEnded != 0 || r1.ConcurrentViewers != 1 || r1.PeakConcurrent != 1 {
		t.Fatalf("minute 1 %+v", r1)
	}
}

func TestLive(t *testing.T) {
	sh := NewShard(0, Config{}, nil)
	if sh.Live("s") != nil {
		t.Fatal("unknown stream")
	}
	sh.Add(join("s", "v1", "", at(0, 10)), at(0, 0))
	sh.Add(order("s", "o", "b", 99, at(1, 10)), at(0, 0))
	live := sh.Live("s")
	if len(live) != 2 || live[0].Joins != 1 || live[0].ConcurrentViewers != 1 || live[0].SessionsEnded != 0 ||
		live[1].Orders != 1 || live[1].ConcurrentViewers != 0 || live[1].PeakConcurrent != 1 {
		t.Fatalf("live %+v", live)
	}
}
