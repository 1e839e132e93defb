package apitypes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is the length of a video or animated image, as Immich reports it
// in AssetResponseDto.duration and TimeBucketAssetResponseDto.duration.
//
// Immich 3.x sends a whole number of milliseconds (null for a still image);
// Immich 2.x sends a string "H:MM:SS.ffffff" ("0:00:00.00000" for a still
// image). Duration decodes both, and the null of a *Duration field leaves it
// nil. It encodes as the 3.x form, whole milliseconds; FormatV2 gives the
// 2.x form.
type Duration time.Duration

// ErrBadDuration is wrapped by the errors of UnmarshalJSON and ParseV2 when
// the value is not a duration in either form.
var ErrBadDuration = errors.New("not an Immich duration")

// maxDuration is the longest duration Duration holds: time.Duration's limit.
const maxDuration = Duration(math.MaxInt64)

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// Milliseconds returns d in whole milliseconds (truncated), the unit of
// Immich 3.x.
func (d Duration) Milliseconds() int64 { return time.Duration(d).Milliseconds() }

// String returns d as time.Duration formats it ("1m5.5s").
func (d Duration) String() string { return time.Duration(d).String() }

// FormatV2 returns d in the form of Immich 2.x, "H:MM:SS.ffffff" with
// microseconds ("0:01:05.500000"). A negative d is formatted as zero.
func (d Duration) FormatV2() string {
	if d < 0 {
		d = 0
	}
	us := time.Duration(d).Microseconds()
	const (
		usPerSec  = int64(time.Second / time.Microsecond)
		usPerMin  = 60 * usPerSec
		usPerHour = 60 * usPerMin
	)
	h := us / usPerHour
	m := us % usPerHour / usPerMin
	s := us % usPerMin / usPerSec
	f := us % usPerSec
	return fmt.Sprintf("%d:%02d:%02d.%06d", h, m, s, f)
}

// MarshalJSON encodes d as Immich 3.x does: a JSON number of whole
// milliseconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, d.Milliseconds(), 10), nil
}

// UnmarshalJSON decodes a number of milliseconds (Immich 3.x) or a string
// "H:MM:SS.ffffff" (Immich 2.x; "" is zero). JSON null leaves d unchanged,
// as encoding/json does for other types. A negative, too large or malformed
// value is an error wrapping ErrBadDuration.
func (d *Duration) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrBadDuration, b, err)
		}
		v, err := ParseV2(s)
		if err != nil {
			return err
		}
		*d = v
		return nil
	default:
		v, err := parseMillis(string(b))
		if err != nil {
			return err
		}
		*d = v
		return nil
	}
}

// parseMillis reads a JSON number of milliseconds; a fraction is kept to the
// nanosecond.
func parseMillis(s string) (Duration, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("%w: %d ms is negative", ErrBadDuration, n)
		}
		if n > int64(maxDuration/Duration(time.Millisecond)) {
			return 0, fmt.Errorf("%w: %d ms is too long", ErrBadDuration, n)
		}
		return Duration(n) * Duration(time.Millisecond), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q is neither a number of milliseconds nor a string", ErrBadDuration, s)
	}
	ns := f * float64(time.Millisecond)
	if math.IsNaN(ns) || ns < 0 || ns >= math.MaxInt64 {
		return 0, fmt.Errorf("%w: %s ms is out of range", ErrBadDuration, s)
	}
	return Duration(ns), nil
}

// ParseV2 parses the Immich 2.x form "H:MM:SS.ffffff" (hours of any width,
// minutes and seconds below 60, up to 9 fraction digits, fraction optional).
// The empty string is zero. Errors wrap ErrBadDuration.
func ParseV2(s string) (Duration, error) {
	if s == "" {
		return 0, nil
	}
	bad := func(why string) (Duration, error) {
		return 0, fmt.Errorf("%w: %q: %s (want H:MM:SS.ffffff)", ErrBadDuration, s, why)
	}
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return bad("not three fields separated by ':'")
	}
	sec, frac, hasFrac := strings.Cut(parts[2], ".")
	h, ok := digits(parts[0], 0, math.MaxInt64)
	if !ok {
		return bad("hours are not a number")
	}
	m, ok := digits(parts[1], 0, 59)
	if !ok {
		return bad("minutes are not a number from 0 to 59")
	}
	sc, ok := digits(sec, 0, 59)
	if !ok {
		return bad("seconds are not a number from 0 to 59")
	}
	var ns int64
	if hasFrac {
		if len(frac) == 0 || len(frac) > 9 {
			return bad("the fraction of a second has no digits or more than 9")
		}
		f, ok := digits(frac, 0, 999_999_999)
		if !ok {
			return bad("the fraction of a second is not a number")
		}
		for i := len(frac); i < 9; i++ {
			f *= 10
		}
		ns = f
	}
	rest := m*int64(time.Minute) + sc*int64(time.Second) + ns
	if h > (math.MaxInt64-rest)/int64(time.Hour) {
		return bad("too long")
	}
	return Duration(h*int64(time.Hour) + rest), nil
}

// digits parses s, which must be 1 to 19 ASCII digits, as a number within
// [lo, hi].
func digits(s string, lo, hi int64) (int64, bool) {
	if len(s) == 0 || len(s) > 19 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, false
	}
	return n, true
}
