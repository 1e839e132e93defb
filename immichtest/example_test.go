package immichtest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"

	"github.com/goimmich/goimmich/api"
	"github.com/goimmich/goimmich/immichtest"
)

// Start a fake Immich server, upload a photo with the generated client and
// read the asset back, then ask the server what it really holds.
func ExampleNewServer() {
	s := immichtest.NewServer()
	defer s.Close()

	client, err := api.NewClientWithResponses(s.URL(), api.WithRequestEditorFn(
		func(_ context.Context, req *http.Request) error {
			req.Header.Set("x-api-key", s.APIKey())
			return nil
		}))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("fileCreatedAt", "2024-05-01T10:00:00.000Z")
	mw.WriteField("fileModifiedAt", "2024-05-01T10:00:00.000Z")
	part, _ := mw.CreateFormFile("assetData", "IMG_0001.jpg")
	part.Write([]byte("not really a JPEG"))
	mw.Close()

	up, err := client.UploadAssetWithBodyWithResponse(ctx, &api.UploadAssetParams{}, mw.FormDataContentType(), &body)
	if err != nil {
		panic(err)
	}
	fmt.Println(up.StatusCode(), up.JSON201.Status)

	info, err := client.GetAssetInfoWithResponse(ctx, up.JSON201.Id, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(info.JSON200.OriginalFileName, info.JSON200.Type, info.JSON200.Checksum)

	fmt.Println(len(s.Assets()), "asset stored,", len(s.ValidationFailures()), "validation failures")
	// Output:
	// 201 created
	// IMG_0001.jpg IMAGE uFgHomPJjXS8gu9rLnB1KfoE2Rs=
	// 1 asset stored, 0 validation failures
}

// Make the server fail on purpose: here about half of the pings are answered
// 500, 502 or 503, the same ones on every run since the seed is fixed.
func ExampleServer_SetFaults() {
	s := immichtest.NewServer()
	defer s.Close()
	s.SetFaults(immichtest.Faults{Seed: 1, ErrorRate: 0.5, Operations: []string{"pingServer"}})

	var statuses []int
	for range 6 {
		res, err := s.Client().Get(s.URL() + "/server/ping")
		if err != nil {
			panic(err)
		}
		res.Body.Close()
		statuses = append(statuses, res.StatusCode)
	}
	fmt.Println(statuses)
	fmt.Println(s.RequestCount("pingServer"), "pings seen")
	// Output:
	// [200 500 502 503 500 502]
	// 6 pings seen
}

// Seed a server with an asset and download it, as a test of download code
// would.
func ExampleServer_AddAsset() {
	dir, err := os.MkdirTemp("", "immichtest-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	s := immichtest.NewServer(immichtest.WithDataDir(dir)) // bodies on disk
	defer s.Close()
	a := s.AddAsset("IMG_0002.jpg", []byte("seeded bytes"))

	req, _ := http.NewRequest("GET", s.URL()+"/assets/"+a.ID.String()+"/original", nil)
	req.Header.Set("x-api-key", s.APIKey())
	res, err := s.Client().Do(req)
	if err != nil {
		panic(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	fmt.Println(res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"))
	fmt.Println(string(body))
	// Output:
	// 200 image/jpeg inline; filename*=UTF-8''IMG_0002.jpg
	// seeded bytes
}
