package schemas

import (
	"testing"
	"time"
)

// checkRFC3339Millis: on a timestamp of the accepted shape, rfc3339Millis agrees with time.Parse
// (and refuses exactly what time.Parse refuses).
func checkRFC3339Millis(t *testing.T, s string) {
	t.Helper()
	if !isRFC3339([]byte(s)) {
		return
	}
	got, ok := rfc3339Millis([]byte(s))
	want, err := time.Parse(time.RFC3339Nano, s)
	switch {
	case ok != (err == nil):
		t.Fatalf("%q: ok %v, time.Parse: %v", s, ok, err)
	case ok && got != want.UnixMilli():
		t.Fatalf("%q: %d ms, time.Parse: %d", s, got, want.UnixMilli())
	}
}

func TestRFC3339Millis(t *testing.T) {
	for _, s := range []string{
		"2025-06-01T11:59:00Z", "2025-06-01T19:59:58.123+08:00", "1969-12-31T23:59:59.999Z",
		"1969-12-31T23:59:59.9995-00:30", "1900-01-01T00:00:00Z", "0000-01-01T00:00:00Z",
		"0000-02-29T12:00:00Z", "9999-12-31T23:59:59.999999999999+23:59", "2299-12-31T23:59:59.999-23:59",
		"2000-02-29T00:00:00Z", "2024-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2100-02-29T00:00:00Z",
		"2025-04-31T00:00:00Z", "2025-13-01T00:00:00Z", "2025-00-10T00:00:00Z", "2025-01-00T00:00:00Z",
		"2025-06-01T24:00:00Z", "2025-06-01T23:60:00Z", "2025-06-01T23:59:60Z", "2025-06-01T11:59:00.1Z",
		"2025-06-01T11:59:00.12Z", "2025-06-01T11:59:00.000001+05:45",
	} {
		checkRFC3339Millis(t, s)
	}
	// Every day of four centuries, at a time with an offset.
	for d := time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2200; d = d.AddDate(0, 0, 1) {
		checkRFC3339Millis(t, d.Add(13*time.Hour+7*time.Minute+5*time.Second+250*time.Millisecond).Format("2006-01-02T15:04:05.000-07:00"))
		checkRFC3339Millis(t, d.Format("2006-01-02T")+"23:59:59.9+14:00")
	}
}

func FuzzRFC3339Millis(f *testing.F) {
	f.Add("2025-06-01T19:59:58.123+08:00")
	f.Add("0000-02-29T00:00:00Z")
	f.Add("2100-02-29T23:59:59.999999-23:59")
	f.Fuzz(func(t *testing.T, s string) { checkRFC3339Millis(t, s) })
}
