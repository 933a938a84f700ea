package schemas

// rfc3339Millis converts s, which has the shape isRFC3339 checks, to Unix milliseconds exactly as
// time.Parse(time.RFC3339Nano, s) followed by UnixMilli does, without its cost (it was a tenth
// of the decoder's time). It returns false when a date or clock field is out of range; the
// caller then asks time.Parse, for the same verdict and its error.
func rfc3339Millis(s []byte) (int64, bool) {
	year, month, day := num(s[0:4]), num(s[5:7]), num(s[8:10])
	hour, minute, sec := num(s[11:13]), num(s[14:16]), num(s[17:19])
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	ms := (((daysFromCivil(year, month, day)*24+hour)*60+minute)*60 + sec) * 1000
	s = s[19:]
	if s[0] == '.' { // the first three digits are the milliseconds; time.Parse keeps nine, UnixMilli three
		scale := int64(100)
		for _, c := range s[1:] {
			if !isDigit(c) {
				break
			}
			ms += int64(c-'0') * scale
			scale /= 10
		}
		for len(s) > 1 && (s[0] == '.' || isDigit(s[0])) {
			s = s[1:]
		}
	}
	if s[0] != 'Z' { // ±hh:mm, ranges checked by isRFC3339
		offset := (num(s[1:3])*60 + num(s[4:6])) * 60_000
		if s[0] == '-' {
			offset = -offset
		}
		ms -= offset
	}
	return ms, true
}

// num reads decimal digits (already checked).
func num(b []byte) int64 {
	var n int64
	for _, c := range b {
		n = n*10 + int64(c-'0')
	}
	return n
}

func daysIn(month, year int64) int64 {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days from 1970-01-01 to the given proleptic Gregorian date (Howard
// Hinnant's algorithm).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	doy := (153*((m+9)%12)+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
