package apitypes_test

import (
	"encoding/json"
	"fmt"

	"github.com/goimmich/goimmich/apitypes"
)

// An asset's duration as Immich 2.x and 3.x send it, read into one type.
func ExampleDuration() {
	for _, answer := range []string{
		`{"duration":"0:01:05.500000"}`, // Immich 2.x
		`{"duration":65500}`,            // Immich 3.x
		`{"duration":null}`,             // Immich 3.x, a still image
	} {
		var a struct {
			Duration *apitypes.Duration `json:"duration"`
		}
		if err := json.Unmarshal([]byte(answer), &a); err != nil {
			fmt.Println(err)
			continue
		}
		if a.Duration == nil {
			fmt.Println("no duration")
			continue
		}
		out, _ := json.Marshal(a.Duration)
		fmt.Println(a.Duration, a.Duration.Milliseconds(), a.Duration.FormatV2(), string(out))
	}
	// Output:
	// 1m5.5s 65500 0:01:05.500000 65500
	// 1m5.5s 65500 0:01:05.500000 65500
	// no duration
}

func ExampleParseV2() {
	d, err := apitypes.ParseV2("1:02:03.5")
	fmt.Println(d, err)
	_, err = apitypes.ParseV2("62 minutes")
	fmt.Println(err)
	// Output:
	// 1h2m3.5s <nil>
	// not an Immich duration: "62 minutes": not three fields separated by ':' (want H:MM:SS.ffffff)
}
