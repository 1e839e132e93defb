package wrapper_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"

	"github.com/google/uuid"

	"github.com/goimmich/goimmich/wrapper"
)

// Every generated operation returns Do's errors: an answer that is not a
// success is an error, never a nil JSON200.
func ExampleClient_generatedOperation() {
	_, c, photo, _, done := exampleServer()
	defer done()
	ctx := context.Background()

	r, err := c.GetAssetInfoWithResponse(ctx, photo, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.JSON200.OriginalFileName)

	// Immich answers 400 "Not found or no asset.read access" for an id it
	// does not have.
	_, err = c.GetAssetInfoWithResponse(ctx, uuid.New(), nil)
	var ae *wrapper.APIError
	fmt.Println(errors.Is(err, wrapper.ErrNotFound), errors.As(err, &ae) && ae.StatusCode == http.StatusBadRequest)
	// Output:
	// IMG_0001.jpg
	// true true
}

// NewRequest and Do send a request of your own with the Client's
// credentials, retries and errors.
func ExampleClient_Do() {
	_, c, _, _, done := exampleServer()
	defer done()

	req, err := c.NewRequest(context.Background(), http.MethodGet, "/server/version", nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	resp, err := c.Do(req, "getServerVersion")
	var ce *wrapper.ConnectionError
	switch {
	case errors.As(err, &ce):
		log.Fatalf("the server is down or the URL wrong: %v", err)
	case errors.Is(err, wrapper.ErrNotImmich):
		log.Fatalf("this is not Immich: %v", err)
	case err != nil:
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct{ Major int }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		log.Fatal(err)
	}
	fmt.Println(v.Major)
	// Output: 3
}
