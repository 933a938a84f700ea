package simulate

import (
	"math"
	"time"
)

// dailyLevels is the traffic level at each local hour (index 24 = next midnight, before the
// surge): quiet overnight, a lunch bump, a climb through the evening towards the midnight
// start of the sale. Levels are relative to the evening peak (21:00 = 1.0).
var dailyLevels = [25]float64{
	1.20, 0.70, 0.35, 0.20, 0.12, 0.10, 0.12, 0.20, 0.28, 0.35, 0.40, 0.45, // 00–11
	0.50, 0.48, 0.45, 0.45, 0.48, 0.55, 0.65, 0.80, 0.92, 1.00, 1.05, 1.12, // 12–23
	1.20, // 24 = 00 before the surge
}

const (
	// surgePeak is how much the midnight sale start adds on top of the daily level at 00:00.
	surgePeak = 4.0
	// surgeDecay is the e-folding time of the surge: ~5% of it is left after 25 minutes.
	surgeDecay = 8 * time.Minute
	// maxCurveLevel bounds CurveLevel; it sizes the viewer population.
	maxCurveLevel = 1.20 + surgePeak
)

// CurveLevel is the Singles'-Day traffic level at t, read on t's own wall clock (call it with
// t.In(loc) for the zone of interest; the Generator uses Config.Location). 1.0 is the evening
// peak; the night is near 0.1, and the midnight sale start jumps to 5.2 and decays back to the
// daily level within about 30 minutes.
func CurveLevel(t time.Time) float64 {
	h, m, s := t.Clock()
	return curveAt(float64(h*3600+m*60+s) + float64(t.Nanosecond())/1e9)
}

// curveAt is CurveLevel for a local second of the day in [0, 86400).
func curveAt(sec float64) float64 {
	hour := sec / 3600
	i := int(hour)
	frac := hour - float64(i)
	level := dailyLevels[i] + (dailyLevels[i+1]-dailyLevels[i])*frac
	if sec < 2*3600 { // past two hours the surge is below 1e-6
		level += surgePeak * math.Exp(-sec/surgeDecay.Seconds())
	}
	return level
}

// curve evaluates CurveLevel for Unix-millisecond times in one location, caching the zone offset
// (which changes at most twice a year) so the hot path does no time.Time conversion.
type curve struct {
	loc                *time.Location
	offsetMS           int64 // loc's offset from UTC, valid in [validFrom, validTo)
	validFrom, validTo int64
}

func newCurve(loc *time.Location) *curve { return &curve{loc: loc, validFrom: 1, validTo: 0} }

// level returns CurveLevel at Unix milliseconds ms in the curve's location.
func (c *curve) level(ms int64) float64 {
	if ms < c.validFrom || ms >= c.validTo {
		t := time.UnixMilli(ms).In(c.loc)
		_, off := t.Zone()
		start, end := t.ZoneBounds()
		c.offsetMS = int64(off) * 1000
		c.validFrom, c.validTo = math.MinInt64, math.MaxInt64
		if !start.IsZero() {
			c.validFrom = start.UnixMilli()
		}
		if !end.IsZero() {
			c.validTo = end.UnixMilli()
		}
	}
	const day = 24 * 3600 * 1000
	local := (ms + c.offsetMS) % day
	if local < 0 {
		local += day
	}
	return curveAt(float64(local) / 1000)
}
