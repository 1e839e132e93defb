package apicmd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/goimmich/goimmich/internal/cli/cmdutil"
	"github.com/goimmich/goimmich/internal/cli/iostreams"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// run executes "api args..." with test streams and an environment holding
// only env; it returns stdout, stderr and the error.
func run(t *testing.T, env map[string]string, stdin string, args ...string) (string, string, error) {
	t.Helper()
	ios, in, out, errOut := iostreams.Test()
	in.WriteString(stdin)
	f := &cmdutil.Factory{IOStreams: ios, Version: "test", Getenv: func(k string) string { return env[k] }}
	if env == nil {
		dir := t.TempDir()
		f.Getenv = func(k string) string {
			switch k {
			case "HOME", "GOIMMICH_CONFIG_DIR", "IMMICH_CONFIG_DIR":
				return dir
			}
			return ""
		}
	}
	cmd := NewCmdAPI(f, nil)
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func TestListShowsEveryOperation(t *testing.T) {
	out, _, err := run(t, nil, "", "--list")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 254 || Count() != 254 {
		t.Fatalf("api --list printed %d operations, table has %d; want 254", len(lines), Count())
	}
	seen := map[string]bool{}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 3 || !strings.HasPrefix(f[2], "/") {
			t.Fatalf("line %q: want operationId METHOD /path", l)
		}
		if seen[f[0]] {
			t.Fatalf("operation %s listed twice", f[0])
		}
		seen[f[0]] = true
	}
	for _, want := range []string{"getServerVersion GET /server/version", "uploadAsset POST /assets", "downloadAsset GET /assets/{id}/original"} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), want) {
			t.Errorf("--list lacks %q", want)
		}
	}
}

func TestParameterFlags(t *testing.T) {
	cmd := NewCmdAPI(&cmdutil.Factory{IOStreams: func() *iostreams.IOStreams { s, _, _, _ := iostreams.Test(); return s }()}, nil)
	sub, _, err := cmd.Find([]string{"getAlbumInfo"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"id", "query-key", "slug", "output", "force"} {
		if sub.Flags().Lookup(name) == nil {
			t.Errorf("getAlbumInfo has no --%s", name)
		}
	}
	if sub.Flags().Lookup("key") != nil {
		t.Error("the query parameter key must not shadow the global --key")
	}
	sub, _, _ = cmd.Find([]string{"searchLargeAssets"})
	if sub.Flags().Lookup("album-ids") == nil || sub.Flags().Lookup("min-file-size") == nil {
		t.Error("searchLargeAssets lacks --album-ids or --min-file-size")
	}
	// Every subcommand builds its flags without a clash (cobra panics otherwise)
	// and is named by its operationId.
	if n := len(cmd.Commands()); n != 254 {
		t.Fatalf("api has %d subcommands, want 254", n)
	}
}

// Mistakes found before any request: the environment has no server at all,
// so reaching the network would fail with a different error.
func TestLocalMistakes(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "photo.jpg")
	if err := os.WriteFile(existing, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"albumName": `), 0o644)
	const id = "4f1b8c2e-6a1d-4c3b-9f0e-2d7a5b6c8e90"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"not a uuid", []string{"getAlbumInfo", "nope"}, `"nope" is not a UUID`},
		{"missing path parameter", []string{"getAlbumInfo"}, "missing required path parameter --id"},
		{"bad enum", []string{"getActivities", "--album-id", id, "--type", "dislike"}, `"dislike" is not one of: comment, like`},
		{"bad integer", []string{"getQueueJobs", "--name", "thumbnailGeneration", "--status", "x", "--name", "y"}, ""},
		{"binary without output", []string{"downloadAsset", id}, "give --output FILE"},
		{"existing output", []string{"downloadAsset", id, "--output", existing}, "already exists; give --force"},
		{"body missing", []string{"createAlbum"}, "needs a JSON request body"},
		{"malformed JSON", []string{"createAlbum", "--data", `{"albumName": "x"`}, "not valid JSON"},
		{"malformed JSON file", []string{"createAlbum", "--data", "@" + bad}, "bad.json is not valid JSON"},
		{"missing data file", []string{"createAlbum", "--data", "@" + filepath.Join(dir, "nope.json")}, "no such file"},
		{"body not taken", []string{"getServerVersion", "--output", "-", "extra"}, "accepts at most 0 arg"},
		{"slash in a path parameter", []string{"downloadDatabaseBackup", "../users/me", "--output", filepath.Join(dir, "out")}, "cannot hold a slash"},
		{"dot segment as a path parameter", []string{"downloadDatabaseBackup", "..", "--output", filepath.Join(dir, "out")}, "cannot hold a slash or be a dot segment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := run(t, nil, "", tt.args...)
			if err == nil {
				t.Fatal("want an error")
			}
			if tt.want != "" && !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q lacks %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "no Immich server configured") {
				t.Fatalf("error %q: the mistake should be found before credentials are needed", err)
			}
		})
	}
	if b, _ := os.ReadFile(existing); string(b) != "precious" {
		t.Fatal("the existing file was changed")
	}
}

func TestNoCredentials(t *testing.T) {
	_, _, err := run(t, nil, "", "getServerVersion")
	if err == nil || !strings.Contains(err.Error(), "goimmich login") {
		t.Fatalf("err = %v; want the no-credentials error naming goimmich login", err)
	}
}

func TestWriteFileSafely(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "out.bin")
	n, err := writeFileSafely(name, false, func(w io.Writer) error { _, err := w.Write([]byte("hello")); return err })
	if err != nil || n != 5 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	// Never over an existing file without force.
	if _, err := writeFileSafely(name, false, func(w io.Writer) error { _, err := w.Write([]byte("other")); return err }); err == nil {
		t.Fatal("overwrote an existing file without force")
	}
	if b, _ := os.ReadFile(name); string(b) != "hello" {
		t.Fatalf("content %q, want hello", b)
	}
	// A failing body leaves nothing under the final name and no temporary file.
	failed := filepath.Join(dir, "failed.bin")
	boom := errors.New("connection cut")
	if _, err := writeFileSafely(failed, false, func(w io.Writer) error { w.Write([]byte("half")); return boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the body's error", err)
	}
	if _, err := os.Stat(failed); !os.IsNotExist(err) {
		t.Fatal("a failed write left a file under the final name")
	}
	// With force the file is replaced.
	if _, err := writeFileSafely(name, true, func(w io.Writer) error { _, err := w.Write([]byte("new")); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(name); string(b) != "new" {
		t.Fatalf("content %q, want new", b)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".part") {
			t.Fatalf("temporary file %s left behind", e.Name())
		}
	}
}

func TestMultipartBodyLength(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a.jpg")
	os.WriteFile(file, bytes.Repeat([]byte{0xff}, 1000), 0o644)
	body, ct, err := multipartBody([]string{"deviceAssetId=x", "assetData=@" + file})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second open is what a retry does
		rc, err := body.open()
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(rc)
		rc.Close()
		if int64(len(raw)) != body.size {
			t.Fatalf("body is %d bytes, announced %d", len(raw), body.size)
		}
		if !strings.Contains(ct, "multipart/form-data; boundary=") || !bytes.Contains(raw, []byte(`filename="a.jpg"`)) {
			t.Fatalf("bad multipart body or content type %q", ct)
		}
	}
}
