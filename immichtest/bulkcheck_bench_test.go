package immichtest

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
)

// BenchmarkBulkUploadCheck500 is one POST /assets/bulk-upload-check of 500
// checksums the server has (a cached re-run sends one per 500 files).
func BenchmarkBulkUploadCheck500(b *testing.B) {
	s := NewTestServer(b)
	type item struct {
		ID       string `json:"id"`
		Checksum string `json:"checksum"`
	}
	var items []item
	for i := range 500 {
		content := fmt.Appendf(nil, "asset %d", i)
		s.AddAsset(fmt.Sprintf("IMG_%d.jpg", i), content)
		sum := sha1.Sum(content)
		items = append(items, item{ID: fmt.Sprint(i), Checksum: hex.EncodeToString(sum[:])})
	}
	body, err := json.Marshal(map[string]any{"assets": items})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, s.URL()+"/assets/bulk-upload-check", bytes.NewReader(body))
		req.Header.Set("x-api-key", s.APIKey())
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || n < 500*50 {
			b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
		}
	}
}
