package immichtest_test

import (
	"context"
	"fmt"
	"log"

	"github.com/google/uuid"

	"github.com/goimmich/goimmich/api"
	"github.com/goimmich/goimmich/immichtest"
	"github.com/goimmich/goimmich/wrapper"
)

// archiveScreenshots stands for code of your own: it moves every asset
// whose file name starts with "Screenshot" to the archive and says how many
// it moved.
func archiveScreenshots(ctx context.Context, c *wrapper.Client) (int, error) {
	var ids []uuid.UUID
	for a, err := range c.SearchAssets(ctx, api.MetadataSearchDto{OriginalFileName: wrapper.Ptr("Screenshot")}) {
		if err != nil {
			return 0, err
		}
		ids = append(ids, a.Id)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	if _, err := c.UpdateAssetsWithResponse(ctx, api.AssetBulkUpdateDto{Ids: ids, Visibility: wrapper.Ptr(api.AssetVisibilityArchive)}); err != nil {
		return 0, fmt.Errorf("archiving %d screenshots: %w", len(ids), err)
	}
	return len(ids), nil
}

// Test code of your own against the fake server: seed it, run the code,
// then ask the server what it holds now and whether every request the code
// sent was one the Immich spec allows. In a test, start the server with
// immichtest.NewTestServer(t), which closes it and fails the test on the
// fake's own errors, and replace the prints with t.Errorf.
func Example_testYourCode() {
	s := immichtest.NewServer()
	defer s.Close()
	for _, name := range []string{"Screenshot 2024-06-01.png", "IMG_0001.jpg", "Screenshot 2024-06-02.png"} {
		s.SeedAsset(immichtest.AssetSeed{Name: name})
	}
	c, err := wrapper.New(s.URL(), wrapper.WithAPIKey(s.APIKey()))
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseIdleConnections()

	n, err := archiveScreenshots(context.Background(), c)
	fmt.Println("archived", n, err)
	for _, a := range s.Assets() {
		fmt.Println(a.OriginalFileName, a.Visibility)
	}
	fmt.Println(len(s.ValidationFailures()), "requests the spec refuses")
	// Output:
	// archived 2 <nil>
	// Screenshot 2024-06-01.png archive
	// IMG_0001.jpg timeline
	// Screenshot 2024-06-02.png archive
	// 0 requests the spec refuses
}
