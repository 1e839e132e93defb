package export_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/goimmich/goimmich/immichtest"
	"github.com/goimmich/goimmich/internal/cli/cmdutil"
	"github.com/goimmich/goimmich/internal/cli/export"
	"github.com/goimmich/goimmich/internal/cli/iostreams"
	"github.com/goimmich/goimmich/internal/cli/root"
	"github.com/goimmich/goimmich/wrapper"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type result struct {
	code        int
	out, errOut string
}

// run runs goimmich args against s with a fresh HOME.
func run(t *testing.T, s *immichtest.Server, args ...string) result {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	vars := map[string]string{"HOME": t.TempDir(), "IMMICH_INSTANCE_URL": s.URL(), "IMMICH_API_KEY": s.APIKey()}
	f := &cmdutil.Factory{IOStreams: ios, Version: "test", Getenv: func(k string) string { return vars[k] },
		Retry: &wrapper.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}}
	code := root.Run(context.Background(), f, args)
	return result{code: code, out: out.String(), errOut: errOut.String()}
}

func fake(t *testing.T) *immichtest.Server {
	s := immichtest.NewServer()
	t.Cleanup(func() {
		if f := s.ValidationFailures(); len(f) > 0 {
			t.Errorf("requests or answers that break the spec: %+v", f)
		}
		s.Close()
	})
	return s
}

func TestExportCommandJSONAndRerun(t *testing.T) {
	s := fake(t)
	s.AddAsset("IMG_1.jpg", []byte("\xff\xd8\xff one"))
	s.AddAsset("IMG_2.jpg", []byte("\xff\xd8\xff two"))
	dir := filepath.Join(t.TempDir(), "backup")
	for i, want := range []map[string]int{{"downloaded": 2, "unchanged": 0}, {"downloaded": 0, "unchanged": 2}} {
		r := run(t, s, "export", "-o", dir, "-j", "--layout", "{{.Stem}}/{{.Name}}")
		if r.code != 0 {
			t.Fatalf("run %d: exit %d: %s", i+1, r.code, r.errOut)
		}
		var res map[string]any
		if err := json.Unmarshal([]byte(r.out), &res); err != nil {
			t.Fatalf("run %d: standard output is not the result JSON: %v\n%s", i+1, err, r.out)
		}
		for k, n := range want {
			if res[k] != float64(n) {
				t.Fatalf("run %d: %s = %v, want %d (%s)", i+1, k, res[k], n, r.out)
			}
		}
	}
	for _, p := range []string{"IMG_1/IMG_1.jpg", "IMG_2/IMG_2.jpg"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestExportCommandExitCodes(t *testing.T) {
	s := fake(t)
	s.AddAsset("IMG_1.jpg", []byte("\xff\xd8\xff one"))
	dir := filepath.Join(t.TempDir(), "out")

	r := run(t, s, "export", "-o", dir, "--layout", "{{.Year}}/{{.Camera}}")
	if r.code != 1 || !strings.Contains(r.errOut, "Camera") || !strings.Contains(r.errOut, ".Year .Month") {
		t.Fatalf("unknown layout field: exit %d, %q; want 1 naming the field and the fields there are", r.code, r.errOut)
	}
	r = run(t, s, "export", "-o", dir, "--layout", "../{{.Name}}")
	if r.code != 1 || !strings.Contains(r.errOut, "leaves the export folder") {
		t.Fatalf("layout leaving the folder: exit %d, %q", r.code, r.errOut)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("a bad layout created the folder: %v", err)
	}
	r = run(t, s, "export", "-o", dir, "--album", "No such album")
	if r.code != 1 || !strings.Contains(r.errOut, "No such album") {
		t.Fatalf("unknown album: exit %d, %q", r.code, r.errOut)
	}

	s.SetFaults(immichtest.Faults{Operations: []string{"downloadAsset"}, ErrorRate: 1})
	r = run(t, s, "export", "-o", dir)
	if r.code != 2 || !strings.Contains(r.errOut, "1 failed") {
		t.Fatalf("failed download: exit %d, %q; want 2", r.code, r.errOut)
	}
	s.SetFaults(immichtest.Faults{})
	if r = run(t, s, "export", "-o", dir); r.code != 0 || !strings.Contains(r.errOut, "1 downloaded") {
		t.Fatalf("next run: exit %d, %q", r.code, r.errOut)
	}
}

func TestExportCommandFlags(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, Getenv: func(string) string { return "" }}
	var got *export.Options
	cmd := export.NewCmdExport(f, func(_ context.Context, o *export.Options) error { got = o; return nil })
	cmd.SetArgs([]string{"-o", "d", "--album", "A", "--album", "B", "--sidecar", "xmp", "--mirror-deletes", "-c", "2"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Output != "d" || !slices.Equal(got.Albums, []string{"A", "B"}) || got.Sidecar != "xmp" || !got.MirrorDeletes ||
		got.Concurrency != 2 || got.Layout != wrapper.DefaultExportLayout {
		t.Fatalf("options %+v", got)
	}
	for _, args := range [][]string{{}, {"-o", "d", "--sidecar", "yaml"}, {"-o", "d", "-c", "0"}, {"-o", "d", "extra"}} {
		cmd := export.NewCmdExport(f, func(context.Context, *export.Options) error { return nil })
		cmd.SetArgs(args)
		cmd.SetErr(ios.ErrOut)
		cmd.SetOut(ios.Out)
		if err := cmd.Execute(); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}
