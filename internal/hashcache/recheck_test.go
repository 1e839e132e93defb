package hashcache

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/goimmich/goimmich/api"
	"github.com/goimmich/goimmich/immichtest"
	openapi_types "github.com/oapi-codegen/runtime/types"
)

// recheck is the level 2 re-check documented in the package comment and in
// the integration note, written the way wrapper.Upload is to do it: one
// bulk-upload-check per batch of confirmed checksums, then Confirm or
// Forget per answer. It returns the checksums the server no longer has
// (to upload again) and those it holds in the trash.
func recheck(ctx context.Context, t *testing.T, cl *api.ClientWithResponses, c *Cache, server, user string, sums [][20]byte, batch int) (gone, trashed [][20]byte) {
	t.Helper()
	for start := 0; start < len(sums); start += batch {
		part := sums[start:min(start+batch, len(sums))]
		items := make([]api.AssetBulkUploadCheckItem, len(part))
		for i, s := range part {
			items[i] = api.AssetBulkUploadCheckItem{Id: strconv.Itoa(i), Checksum: hex.EncodeToString(s[:])}
		}
		res, err := cl.CheckBulkUploadWithResponse(ctx, api.AssetBulkUploadCheckDto{Assets: items})
		if err != nil || res.JSON200 == nil {
			t.Fatalf("bulk-upload-check: %v (status %d)", err, res.StatusCode())
		}
		for _, r := range res.JSON200.Results {
			i, _ := strconv.Atoi(r.Id)
			sum := part[i]
			switch {
			case r.Action == api.AssetUploadActionAccept:
				c.Forget(server, user, sum)
				gone = append(gone, sum)
			case r.IsTrashed != nil && *r.IsTrashed:
				c.Forget(server, user, sum)
				trashed = append(trashed, sum)
			case r.AssetId != nil:
				c.Confirm(server, user, sum, r.AssetId.String())
			}
		}
	}
	return gone, trashed
}

// TestRecheckAgainstServer runs the documented re-check against the fake
// Immich server (real HTTP, requests validated against the 3.0.3 spec): an
// asset still there stays confirmed, a trashed one and a deleted one are
// forgotten (the deleted one is to be uploaded again), and the re-check of
// 1,200 confirmed files in batches of 500 costs 3 requests.
func TestRecheckAgainstServer(t *testing.T) {
	ctx := context.Background()
	srv := immichtest.NewServer()
	defer srv.Close()
	cl, err := api.NewClientWithResponses(srv.URL(), api.WithHTTPClient(srv.Client()),
		api.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("x-api-key", srv.APIKey())
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	user := srv.DefaultUserID().String()
	c := mustOpen(t, filepath.Join(t.TempDir(), "hashes.db"))
	defer mustClose(t, c)

	const n = 1200
	sums := make([][20]byte, n)
	ids := make([]string, n)
	for i := range n {
		content := fmt.Appendf(nil, "photo %d", i)
		a := srv.AddAsset(fmt.Sprintf("IMG_%04d.jpg", i), content)
		sums[i], ids[i] = sha1.Sum(content), a.ID.String()
		c.Confirm(srv.URL(), user, sums[i], ids[i]) // as after a first run
	}
	force := true
	if r, err := cl.DeleteAssetsWithResponse(ctx, api.AssetBulkDeleteDto{Ids: []openapi_types.UUID{mustUUID(t, ids[1])}}); err != nil || r.StatusCode() != http.StatusNoContent {
		t.Fatalf("trash: %v %v", err, r.Status())
	}
	if r, err := cl.DeleteAssetsWithResponse(ctx, api.AssetBulkDeleteDto{Ids: []openapi_types.UUID{mustUUID(t, ids[2])}, Force: &force}); err != nil || r.StatusCode() != http.StatusNoContent {
		t.Fatalf("delete: %v %v", err, r.Status())
	}

	before := srv.RequestCount("checkBulkUpload")
	gone, trashed := recheck(ctx, t, cl, c, srv.URL(), user, sums, 500)
	if got := srv.RequestCount("checkBulkUpload") - before; got != 3 {
		t.Errorf("re-check of %d files cost %d requests, want 3", n, got)
	}
	if len(gone) != 1 || gone[0] != sums[2] {
		t.Errorf("gone = %d checksums, want only the deleted asset's", len(gone))
	}
	if len(trashed) != 1 || trashed[0] != sums[1] {
		t.Errorf("trashed = %d checksums, want only the trashed asset's", len(trashed))
	}
	for i, want := range map[int]string{0: ids[0], 1: "", 2: "", n - 1: ids[n-1]} {
		got, ok := c.Confirmed(srv.URL(), user, sums[i])
		if got != want || ok != (want != "") {
			t.Errorf("after re-check, Confirmed(asset %d) = %q, %v; want %q", i, got, ok, want)
		}
	}
	if v := srv.ValidationFailures(); len(v) != 0 {
		t.Fatalf("requests that violate the spec: %+v", v)
	}
}

func mustUUID(t *testing.T, s string) openapi_types.UUID {
	t.Helper()
	var u openapi_types.UUID
	if err := u.UnmarshalText([]byte(s)); err != nil {
		t.Fatal(err)
	}
	return u
}
