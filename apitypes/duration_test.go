package apitypes

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDurationUnmarshal(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		// Immich 3.x: whole milliseconds.
		{`5000`, 5 * time.Second},
		{`0`, 0},
		{` 1500 `, 1500 * time.Millisecond},
		{`2147483647`, 2147483647 * time.Millisecond},
		{`12.5`, 12500 * time.Microsecond},
		{`1e3`, time.Second},
		// Immich 2.x: "H:MM:SS.ffffff".
		{`"0:00:05.000000"`, 5 * time.Second},
		{`"0:00:00.00000"`, 0}, // what 2.x sends for a still image
		{`"1:02:03.456789"`, time.Hour + 2*time.Minute + 3*time.Second + 456789*time.Microsecond},
		{`"0:00:01.5"`, 1500 * time.Millisecond},
		{`"00:00:07"`, 7 * time.Second},
		{`"123:59:59.999999999"`, 123*time.Hour + 59*time.Minute + 59*time.Second + 999999999},
		{`""`, 0},
		{`"0:00:10.000\u0030"`, 10 * time.Second},
	} {
		var d Duration
		if err := json.Unmarshal([]byte(tc.in), &d); err != nil {
			t.Errorf("Unmarshal(%s): %v", tc.in, err)
			continue
		}
		if d.Std() != tc.want {
			t.Errorf("Unmarshal(%s) = %v, want %v", tc.in, d.Std(), tc.want)
		}
	}
}

func TestDurationUnmarshalNull(t *testing.T) {
	var v struct {
		P *Duration `json:"p"`
		D Duration  `json:"d"`
	}
	v.D = 7
	if err := json.Unmarshal([]byte(`{"p":null,"d":null}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.P != nil || v.D != 7 {
		t.Errorf("null decoded to p=%v d=%v; want nil and unchanged 7", v.P, v.D)
	}
	if err := json.Unmarshal([]byte(`{"p":"0:00:02.000000"}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.P == nil || v.P.Std() != 2*time.Second {
		t.Errorf("p = %v, want 2s", v.P)
	}
}

func TestDurationUnmarshalErrors(t *testing.T) {
	for _, in := range []string{
		`-1`, `-0.5`, `1e30`, `true`, `{}`, `[]`, `"5000"`, `"abc"`, `"0:60:00"`, `"0:00:60"`,
		`"0:00"`, `"0:00:00:00"`, `"-1:00:00"`, `"0:00:00."`, `"0:00:00.1234567890"`, `"0:0a:00"`,
		`"99999999999999999999:00:00"`, `"3000000:00:00"`, `"0:00:0 1"`,
	} {
		var d Duration
		err := json.Unmarshal([]byte(in), &d)
		if err == nil {
			t.Errorf("Unmarshal(%s) = %v, want an error", in, d.Std())
			continue
		}
		if !errors.Is(err, ErrBadDuration) {
			// encoding/json reports syntax errors itself, before calling us.
			var se *json.SyntaxError
			if !errors.As(err, &se) {
				t.Errorf("Unmarshal(%s): %v does not wrap ErrBadDuration", in, err)
			}
		}
	}
}

func TestDurationMarshal(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		json string
		v2   string
	}{
		{0, `0`, "0:00:00.000000"},
		{5 * time.Second, `5000`, "0:00:05.000000"},
		{1500*time.Millisecond + 999*time.Microsecond, `1500`, "0:00:01.500999"},
		{26*time.Hour + 3*time.Minute + 4*time.Second, `93784000`, "26:03:04.000000"},
		{-time.Second, `-1000`, "0:00:00.000000"},
	} {
		b, err := json.Marshal(Duration(tc.d))
		if err != nil || string(b) != tc.json {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tc.d, b, err, tc.json)
		}
		if got := Duration(tc.d).FormatV2(); got != tc.v2 {
			t.Errorf("FormatV2(%v) = %q, want %q", tc.d, got, tc.v2)
		}
	}
	// As a nullable field: nil stays null, as 3.x sends for a still image.
	b, err := json.Marshal(struct {
		P *Duration `json:"p"`
	}{})
	if err != nil || string(b) != `{"p":null}` {
		t.Errorf("nil *Duration = %s, %v", b, err)
	}
}

func TestParseV2Error(t *testing.T) {
	_, err := ParseV2("1:2")
	if !errors.Is(err, ErrBadDuration) || !strings.Contains(err.Error(), "H:MM:SS.ffffff") || !strings.Contains(err.Error(), `"1:2"`) {
		t.Errorf("ParseV2(1:2) error = %v; want ErrBadDuration naming the value and the form", err)
	}
}

// FuzzDuration: decoding never panics, and what decodes round-trips through
// both forms (the 3.x one to the millisecond, the 2.x one to the microsecond).
func FuzzDuration(f *testing.F) {
	for _, s := range []string{`5000`, `null`, `"0:00:05.000000"`, `"0:00:00.00000"`, `""`, `1.5`, `"12:34:56.7"`, `-3`, `"a:b:c"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var d Duration
		if err := d.UnmarshalJSON([]byte(in)); err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("%q decoded to a negative %v", in, d.Std())
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var back Duration
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%q: re-decoding %s: %v", in, b, err)
		}
		if back.Milliseconds() != d.Milliseconds() {
			t.Fatalf("%q: 3.x round trip %v -> %s -> %v", in, d.Std(), b, back.Std())
		}
		v2, err := ParseV2(d.FormatV2())
		if err != nil {
			t.Fatalf("%q: FormatV2 %q does not parse: %v", in, d.FormatV2(), err)
		}
		if v2.Std() != d.Std().Truncate(time.Microsecond) {
			t.Fatalf("%q: 2.x round trip %v -> %q -> %v", in, d.Std(), d.FormatV2(), v2.Std())
		}
	})
}

// TestDurationLongest: the longest Duration formats for 2.x and parses back.
func TestDurationLongest(t *testing.T) {
	d := Duration(1<<63 - 1)
	back, err := ParseV2(d.FormatV2())
	if err != nil || back.Std() != d.Std().Truncate(time.Microsecond) {
		t.Errorf("ParseV2(%q) = %v, %v", d.FormatV2(), back.Std(), err)
	}
	var m Duration
	if err := json.Unmarshal([]byte(`9223372036854`), &m); err != nil || m.Milliseconds() != 9223372036854 {
		t.Errorf("longest in ms: %v, %v", m.Milliseconds(), err)
	}
}
