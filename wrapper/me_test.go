package wrapper

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// Me asks GET /users/me once for the Client's life, also when called
// concurrently and by Upload's check of the credentials; a failed read is
// not kept.
func TestMeIsAskedOnce(t *testing.T) {
	ctx := context.Background()
	s, c := newUploadEnv(t)
	bad, err := New(s.URL(), WithAPIKey("wrong-key"), WithRetry(quickPolicy(1)))
	if err != nil {
		t.Fatal(err)
	}
	defer bad.CloseIdleConnections()
	for range 2 {
		if _, err := bad.Me(ctx); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("wrong key: %v, want ErrUnauthorized", err)
		}
	}
	if n := s.RequestCount("getMyUser"); n != 2 {
		t.Fatalf("a failed read was kept: %d requests for two calls, want 2", n)
	}

	var wg sync.WaitGroup
	ids := make([]string, 4)
	for i := range ids {
		wg.Go(func() {
			me, err := c.Me(ctx)
			if err != nil {
				t.Error(err)
			}
			ids[i] = me.Id.String()
		})
	}
	wg.Wait()
	if ids[0] == "" || ids[0] != ids[3] {
		t.Fatalf("ids %v, want one user", ids)
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.jpg": "a photo"})
	if _, err := c.Upload(ctx, []string{dir}, UploadOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := s.RequestCount("getMyUser"); n != 3 {
		t.Fatalf("%d requests after four calls and an Upload, want 1 more than the 2 failed ones", n-2)
	}
}
