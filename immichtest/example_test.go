package immichtest_test

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"

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
