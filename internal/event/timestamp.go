package event

import (
	"regexp"
	"strconv"
	"time"
)

// Timestamp is an RFC 3339 date-time of the contract: the text as sent and the instant it names.
type Timestamp struct {
	Text string
	// Instant is rounded to the microsecond, half to even, as PostgreSQL rounds timestamptz text input.
	Instant time.Time
}

var dateTimePattern = regexp.MustCompile(
	`^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|([+-])(\d{2}):(\d{2}))$`)

// ParseTimestamp accepts exactly the contract's RFC 3339 form (upper-case T and Z, at most nine fraction
// digits, a numeric offset or Z) naming a real instant PostgreSQL's timestamptz can store: year 0001 to
// 9999, no 31 April, 29 February only in leap years, no leap second, offsets within ±15:59. ok is false
// for anything else.
func ParseTimestamp(text string) (ts Timestamp, ok bool) {
	m := dateTimePattern.FindStringSubmatch(text)
	if m == nil {
		return Timestamp{}, false
	}
	num := func(s string) int { n, _ := strconv.Atoi(s); return n } // the pattern guarantees digits
	year, month, day := num(m[1]), num(m[2]), num(m[3])
	hour, minute, second := num(m[4]), num(m[5]), num(m[6])
	if year < 1 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 59 {
		return Timestamp{}, false
	}
	offset := 0
	if m[8] != "" {
		offsetHours, offsetMinutes := num(m[9]), num(m[10])
		if offsetHours > 15 || offsetMinutes > 59 {
			return Timestamp{}, false
		}
		offset = offsetHours*3600 + offsetMinutes*60
		if m[8] == "-" {
			offset = -offset
		}
	}
	nanos := 0
	if m[7] != "" {
		nanos = num((m[7] + "00000000")[:9])
	}
	instant := time.Date(year, time.Month(month), day, hour, minute, second, 0, time.FixedZone("", offset))
	return Timestamp{Text: text, Instant: instant.Add(roundToMicros(nanos))}, true
}

func roundToMicros(nanos int) time.Duration {
	micros, rest := nanos/1000, nanos%1000
	if rest > 500 || (rest == 500 && micros%2 == 1) {
		micros++
	}
	return time.Duration(micros) * time.Microsecond
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	default:
		return 31
	}
}
