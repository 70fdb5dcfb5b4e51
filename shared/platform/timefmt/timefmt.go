// Package timefmt is the one format of the API's timestamps: RFC 3339 in
// UTC with exactly three fractional digits (milliseconds), such as
// 2026-12-07T04:30:13.322Z. One precision everywhere, so clients may sort
// and compare them as text. Ottu's own fields (timestamp_utc in an `ottu`
// body) stay as Ottu sent them; sentences (a problem's detail) say seconds.
package timefmt

import "time"

// Layout is the API's timestamp layout.
const Layout = "2006-01-02T15:04:05.000Z07:00"

// Format writes t in UTC with milliseconds (truncated, never rounded up
// into the next second).
func Format(t time.Time) string {
	return t.UTC().Truncate(time.Millisecond).Format(Layout)
}
