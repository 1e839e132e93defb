package root

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/json"
	"flag"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/goimmich/goimmich/immichtest"
	"github.com/goimmich/goimmich/internal/cli/cmdutil"
	"github.com/goimmich/goimmich/internal/cli/iostreams"
	"github.com/goimmich/goimmich/wrapper"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env is a test environment: a fresh HOME and config folders, and the
// variables given.
type env struct {
	t    *testing.T
	home string
	vars map[string]string
}

func newEnv(t *testing.T, vars map[string]string) *env {
	home := t.TempDir()
	e := &env{t: t, home: home, vars: map[string]string{"HOME": home}}
	for k, v := range vars {
		e.vars[k] = v
	}
	return e
}

type result struct {
	code        int
	out, errOut string
	took        time.Duration
}

// run runs goimmich args in e, with standard input stdin.
func (e *env) run(stdin string, args ...string) result {
	e.t.Helper()
	ios, in, out, errOut := iostreams.Test()
	in.WriteString(stdin)
	f := &cmdutil.Factory{IOStreams: ios, Version: "test", Getenv: func(k string) string { return e.vars[k] },
		Retry: &wrapper.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}}
	start := time.Now()
	code := Run(context.Background(), f, args)
	return result{code: code, out: out.String(), errOut: errOut.String(), took: time.Since(start)}
}

// fake starts immichtest and returns it with an environment pointing at it.
func fake(t *testing.T) (*immichtest.Server, *env) {
	t.Helper()
	s := immichtest.NewServer()
	t.Cleanup(func() {
		if f := s.ValidationFailures(); len(f) > 0 {
			t.Errorf("requests or answers that break the spec: %+v", f)
		}
		s.Close()
	})
	return s, newEnv(t, map[string]string{"IMMICH_INSTANCE_URL": s.URL(), "IMMICH_API_KEY": s.APIKey()})
}

// photos writes n distinct small JPEGs into dir (and sub/ for the second
// half) and returns their paths.
func photos(t *testing.T, dir string, n int) []string {
	t.Helper()
	var paths []string
	for i := range n {
		d := dir
		if i >= (n+1)/2 {
			d = filepath.Join(dir, "sub")
		}
		os.MkdirAll(d, 0o755)
		img := image.NewRGBA(image.Rect(0, 0, 32, 32))
		for p := range img.Pix {
			img.Pix[p] = uint8(p*7 + i*31)
		}
		img.Set(0, 0, color.RGBA{uint8(i), 0, 0, 255})
		var b bytes.Buffer
		if err := jpeg.Encode(&b, img, nil); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(d, "IMG_"+string(rune('a'+i))+".jpg")
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		// Taken in the past, as photos are (a file modified in the last
		// seconds is not trusted to the hash cache).
		taken := time.Date(2024, 6, 1+i, 12, 0, 0, 0, time.UTC)
		if err := os.Chtimes(p, taken, taken); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("output differs from %s (run go test ./internal/cli/root -update if the change is intended)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

func TestHelpGolden(t *testing.T) {
	e := newEnv(t, nil)
	for _, args := range [][]string{
		{"--help"}, {"upload", "--help"}, {"download", "--help"}, {"export", "--help"}, {"api", "--help"},
		{"api", "getAlbumInfo", "--help"}, {"api", "createAlbum", "--help"}, {"api", "downloadAsset", "--help"},
		{"login", "--help"}, {"logout", "--help"}, {"whoami", "--help"}, {"server", "--help"},
		{"fake-server", "--help"}, {"demo", "--help"}, {"version", "--help"}, {"completion", "--help"},
	} {
		r := e.run("", args...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d: %s", args, r.code, r.errOut)
		}
		name := "help-" + strings.Join(args[:len(args)-1], "-")
		if len(args) == 1 {
			name = "help-root"
		}
		golden(t, name, r.out)
	}
}

func TestVersion(t *testing.T) {
	r := newEnv(t, nil).run("", "version")
	pinned, err := os.ReadFile("../../../openapi/IMMICH_VERSION")
	if err != nil {
		t.Fatal(err)
	}
	if r.code != 0 || !strings.Contains(r.out, "Immich API "+strings.TrimSpace(string(pinned))+" ") || !strings.HasPrefix(r.out, "goimmich test") {
		t.Fatalf("version printed %q (exit %d), want goimmich test and Immich API %s", r.out, r.code, pinned)
	}
}

func TestVersionFlag(t *testing.T) {
	for _, flag := range []string{"-V", "--version"} {
		if r := newEnv(t, nil).run("", flag); r.code != 0 || r.out != "goimmich test\n" {
			t.Fatalf("%s printed %q (exit %d)", flag, r.out, r.code)
		}
	}
}

func TestCompletion(t *testing.T) {
	e := newEnv(t, nil)
	for _, sh := range []string{"bash", "zsh", "fish", "powershell"} {
		r := e.run("", "completion", sh)
		if r.code != 0 || !strings.Contains(r.out, "goimmich") {
			t.Fatalf("completion %s: exit %d, %d bytes", sh, r.code, len(r.out))
		}
	}
	// Dynamic completion of operation names and of enum values.
	if r := e.run("", "__complete", "api", "getServerVer"); !strings.Contains(r.out, "getServerVersion") {
		t.Fatalf("completing an operation: %q", r.out)
	}
	if r := e.run("", "__complete", "api", "getActivities", "--type", ""); !strings.Contains(r.out, "comment\nlike\n") {
		t.Fatalf("completing an enum flag: %q", r.out)
	}
	if r := e.run("", "__complete", "upload", "--visibility", "ar"); !strings.Contains(r.out, "archive") {
		t.Fatalf("completing --visibility: %q", r.out)
	}
	if r := e.run("", "completion", "tcsh"); r.code != 1 {
		t.Fatalf("completion tcsh: exit %d, want 1", r.code)
	}
}

func TestAPIList(t *testing.T) {
	r := newEnv(t, nil).run("", "api", "--list")
	if n := len(strings.Split(strings.TrimSpace(r.out), "\n")); r.code != 0 || n != 254 {
		t.Fatalf("api --list: exit %d, %d lines; want 254", r.code, n)
	}
}

func TestAPIOperationsAgainstFake(t *testing.T) {
	s, e := fake(t)

	r := e.run("", "api", "getServerVersion")
	if r.code != 0 {
		t.Fatalf("getServerVersion: exit %d: %s", r.code, r.errOut)
	}
	golden(t, "api-getServerVersion.json", r.out)

	// An operation with a JSON body, from --data and from standard input.
	r = e.run("", "api", "createAlbum", "--data", `{"albumName":"Trip"}`)
	var album struct{ ID, AlbumName string }
	if err := json.Unmarshal([]byte(r.out), &album); r.code != 0 || err != nil || album.AlbumName != "Trip" {
		t.Fatalf("createAlbum: exit %d, %v, %q %s", r.code, err, r.out, r.errOut)
	}
	r = e.run(`{"albumName":"From stdin"}`, "api", "createAlbum", "--data", "-")
	if r.code != 0 {
		t.Fatalf("createAlbum --data -: exit %d: %s", r.code, r.errOut)
	}
	names := map[string]bool{}
	for _, a := range s.Albums() {
		names[a.Name] = true
	}
	if !names["Trip"] || !names["From stdin"] {
		t.Fatalf("server albums %v, want Trip and From stdin", s.Albums())
	}

	// A multipart upload, then an operation with a binary answer.
	dir := t.TempDir()
	src := photos(t, dir, 1)[0]
	st, _ := os.Stat(src)
	mod := st.ModTime().UTC().Format(time.RFC3339)
	r = e.run("", "api", "uploadAsset", "-F", "assetData=@"+src, "-F", "fileCreatedAt="+mod, "-F", "fileModifiedAt="+mod,
		"-F", "deviceAssetId=x", "-F", "deviceId=goimmich-test")
	var up struct{ ID, Status string }
	if err := json.Unmarshal([]byte(r.out), &up); r.code != 0 || err != nil || up.Status != "created" {
		t.Fatalf("uploadAsset: exit %d, %v, %q %s", r.code, err, r.out, r.errOut)
	}
	out := filepath.Join(dir, "back.jpg")
	r = e.run("", "api", "downloadAsset", up.ID, "--output", out)
	if r.code != 0 {
		t.Fatalf("downloadAsset: exit %d: %s", r.code, r.errOut)
	}
	a, _ := os.ReadFile(src)
	b, _ := os.ReadFile(out)
	if sha1.Sum(a) != sha1.Sum(b) {
		t.Fatal("downloadAsset --output wrote other bytes than were uploaded")
	}
	// --output - streams the bytes to standard output.
	if r = e.run("", "api", "downloadAsset", up.ID, "--output", "-"); r.code != 0 || sha1.Sum([]byte(r.out)) != sha1.Sum(a) {
		t.Fatalf("downloadAsset --output -: exit %d, %d bytes: %s", r.code, len(r.out), r.errOut)
	}
	// Never over an existing file without --force.
	os.WriteFile(out, []byte("keep me"), 0o644)
	if r = e.run("", "api", "downloadAsset", up.ID, "--output", out); r.code != 1 || !strings.Contains(r.errOut, "--force") {
		t.Fatalf("downloadAsset over an existing file: exit %d: %s", r.code, r.errOut)
	}
	if b, _ := os.ReadFile(out); string(b) != "keep me" {
		t.Fatal("an existing file was overwritten without --force")
	}
	if r = e.run("", "api", "downloadAsset", up.ID, "--output", out, "--force"); r.code != 0 {
		t.Fatalf("--force: exit %d: %s", r.code, r.errOut)
	}

	// A public operation needs only the URL; others say what is missing.
	urlOnly := newEnv(t, map[string]string{"IMMICH_INSTANCE_URL": s.URL()})
	if r = urlOnly.run("", "api", "getServerVersion"); r.code != 0 || !strings.Contains(r.out, `"major": 3`) {
		t.Fatalf("public getServerVersion with no key: exit %d: %s %s", r.code, r.out, r.errOut)
	}
	if r = urlOnly.run("", "api", "getMyUser"); r.code != 1 || !strings.Contains(r.errOut, "missing the API key") {
		t.Fatalf("getMyUser with no key: exit %d: %s", r.code, r.errOut)
	}

	// A server error is an *APIError message and exit 1.
	r = e.run("", "api", "getAlbumInfo", "--id", "4f1b8c2e-6a1d-4c3b-9f0e-2d7a5b6c8e90")
	if r.code != 1 || !strings.Contains(r.errOut, "getAlbumInfo: server answered 4") {
		t.Fatalf("missing album: exit %d: %s", r.code, r.errOut)
	}
}

var (
	uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	durRE  = regexp.MustCompile(`"duration_ms": \d+`)
)

func TestUploadJSONAndRerun(t *testing.T) {
	s, e := fake(t)
	dir := t.TempDir()
	photos(t, dir, 4)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a photo"), 0o644)

	r := e.run("", "upload", "-r", "-j", dir)
	if r.code != 0 {
		t.Fatalf("upload: exit %d: %s", r.code, r.errOut)
	}
	var res wrapper.UploadResult
	dec := json.NewDecoder(strings.NewReader(r.out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&res); err != nil {
		t.Fatalf("stdout is not UploadResult JSON: %v\n%s", err, r.out)
	}
	if res.Stats.Uploaded != 4 || res.Stats.Total != 4 || len(s.Assets()) != 4 {
		t.Fatalf("stats %+v, server has %d assets; want 4 uploaded", res.Stats, len(s.Assets()))
	}
	norm := durRE.ReplaceAllString(uuidRE.ReplaceAllString(strings.ReplaceAll(r.out, dir, "DIR"), "UUID"), `"duration_ms": 0`)
	golden(t, "upload-j.json", norm)
	if !strings.Contains(r.errOut, "4 files: uploaded 4") {
		t.Fatalf("stderr lacks the one-line summary: %q", r.errOut)
	}

	r = e.run("", "upload", "-r", "-j", dir)
	res = wrapper.UploadResult{}
	if err := json.Unmarshal([]byte(r.out), &res); err != nil || r.code != 0 {
		t.Fatalf("re-run: exit %d, %v", r.code, err)
	}
	if res.Stats.Rejected != 4 || res.Stats.Uploaded != 0 || len(s.Assets()) != 4 {
		t.Fatalf("re-run stats %+v; want all 4 duplicates", res.Stats)
	}
	for _, rj := range res.Rejected {
		if rj.Reason != wrapper.RejectDuplicate || rj.AssetID == nil {
			t.Fatalf("re-run rejected %+v, want duplicate with asset id", rj)
		}
	}
	// The re-run took every checksum from the hash cache in the user's cache
	// folder; --no-cache reads the files again.
	if res.Stats.HashCacheHits != 4 {
		t.Fatalf("re-run had %d hash cache hits, want 4", res.Stats.HashCacheHits)
	}
	st, err := os.Stat(filepath.Join(e.home, ".cache", "goimmich", "hashes.db"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("hash cache file: %v %v", err, st)
	}
	r = e.run("", "upload", "-r", "-j", "--no-cache", dir)
	res = wrapper.UploadResult{}
	if err := json.Unmarshal([]byte(r.out), &res); err != nil || r.code != 0 || res.Stats.HashCacheHits != 0 || res.Stats.Rejected != 4 {
		t.Fatalf("--no-cache: exit %d, %v, stats %+v", r.code, err, res.Stats)
	}
}

// The login check and Upload's own check of the credentials share the
// command's one Client: GET /users/me is asked once per command.
func TestUploadAsksWhoAmIOnce(t *testing.T) {
	s, e := fake(t)
	dir := t.TempDir()
	photos(t, dir, 2)
	if r := e.run("", "upload", "-j", dir); r.code != 0 {
		t.Fatalf("upload: exit %d: %s", r.code, r.errOut)
	}
	if n := s.RequestCount("getMyUser"); n != 1 {
		t.Fatalf("upload asked GET /users/me %d times, want 1", n)
	}
}

func TestUploadNotRecursiveTakesTopFilesOnly(t *testing.T) {
	_, e := fake(t)
	dir := t.TempDir()
	photos(t, dir, 4) // two on top, two in sub/
	r := e.run("", "upload", "-j", dir)
	var res wrapper.UploadResult
	if err := json.Unmarshal([]byte(r.out), &res); err != nil || r.code != 0 {
		t.Fatalf("exit %d, %v: %s", r.code, err, r.errOut)
	}
	if res.Stats.Uploaded != 2 {
		t.Fatalf("uploaded %d without -r, want the 2 top-level files", res.Stats.Uploaded)
	}
	for _, u := range res.Uploaded {
		if strings.Contains(u.Filepath, "sub") {
			t.Fatalf("without -r, %s was uploaded", u.Filepath)
		}
	}
}

func TestUploadSomeFailedExits2(t *testing.T) {
	s, e := fake(t)
	dir := t.TempDir()
	photos(t, dir, 2)
	s.SetFaults(immichtest.Faults{Operations: []string{"uploadAsset"}, ErrorRate: 1})
	r := e.run("", "upload", "-r", "-j", dir)
	var res wrapper.UploadResult
	if err := json.Unmarshal([]byte(r.out), &res); err != nil {
		t.Fatalf("stdout not JSON: %v", err)
	}
	if r.code != 2 || res.Stats.Failed != 2 {
		t.Fatalf("exit %d, stats %+v; want 2 and 2 failed", r.code, res.Stats)
	}
	if !strings.Contains(r.errOut, "failed: ") {
		t.Fatalf("stderr does not list the failures: %s", r.errOut)
	}
}

func TestWrongKey(t *testing.T) {
	s, _ := fake(t)
	const bad = "not-the-key-0123456789abcdef"
	dir := t.TempDir()
	photos(t, dir, 1)
	e := newEnv(t, map[string]string{"IMMICH_INSTANCE_URL": s.URL()})
	for _, args := range [][]string{{"--key", bad, "upload", "-r", dir}, {"--key", bad, "whoami"}, {"--key", bad, "server"}} {
		r := e.run("", args...)
		if r.code != 1 {
			t.Fatalf("%v: exit %d, want 1", args, r.code)
		}
		if !strings.Contains(r.errOut, "wrong API key") || !strings.Contains(r.errOut, "401") {
			t.Fatalf("%v: message does not name the problem: %s", args, r.errOut)
		}
		if strings.Contains(r.errOut+r.out, bad) {
			t.Fatalf("%v: output holds the key: %s", args, r.errOut)
		}
	}
	if len(s.Assets()) != 0 {
		t.Fatal("something was uploaded with a wrong key")
	}
}

func TestServerDown(t *testing.T) {
	s := immichtest.NewServer()
	url := s.URL()
	s.Close() // nothing listens there any more
	dir := t.TempDir()
	photos(t, dir, 1)
	e := newEnv(t, map[string]string{"IMMICH_INSTANCE_URL": url, "IMMICH_API_KEY": "some-key-value"})
	// The default retry policy, as in production.
	ios, _, _, errOut := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, Version: "test", Getenv: func(k string) string { return e.vars[k] }}
	start := time.Now()
	code := Run(context.Background(), f, []string{"upload", "-r", dir})
	took := time.Since(start)
	if code != 1 || took > 5*time.Second {
		t.Fatalf("exit %d after %v; want 1 within seconds", code, took)
	}
	if !strings.Contains(errOut.String(), "cannot reach the Immich server") || !strings.Contains(errOut.String(), "connection refused") {
		t.Fatalf("message does not say the server is down: %s", errOut)
	}

	// An API command, with the default retry policy: a server that never
	// answered is not retried (wrapper's TestNoRetryWhileUnreachable
	// counts the attempts).
	errOut.Reset()
	code = Run(context.Background(), f, []string{"api", "getServerVersion"})
	if code != 1 || !strings.Contains(errOut.String(), "cannot reach the Immich server") || !strings.Contains(errOut.String(), "connection refused") {
		t.Fatalf("api getServerVersion: exit %d: %s", code, errOut)
	}
}

func TestNotImmich(t *testing.T) {
	s := immichtest.NewServer() // it records the wrong path as a spec failure: not checked here
	defer s.Close()
	e := newEnv(t, map[string]string{"IMMICH_INSTANCE_URL": strings.TrimSuffix(s.URL(), "/api") + "/photos", "IMMICH_API_KEY": s.APIKey()})
	r := e.run("", "whoami")
	if r.code != 1 || !strings.Contains(r.errOut, "does not look like an Immich server") {
		t.Fatalf("exit %d: %s", r.code, r.errOut)
	}
}

func TestLoginWhoamiLogout(t *testing.T) {
	s, _ := fake(t)
	e := newEnv(t, nil)
	e.vars["XDG_CONFIG_HOME"] = filepath.Join(e.home, "xdg")

	if r := e.run("", "whoami"); r.code != 1 || !strings.Contains(r.errOut, "goimmich login") {
		t.Fatalf("whoami before login: exit %d: %s", r.code, r.errOut)
	}
	if r := e.run("", "login", s.URL(), "wrong-key-0123456789"); r.code != 1 || strings.Contains(r.errOut, "wrong-key-0123456789") {
		t.Fatalf("login with a wrong key: exit %d: %s", r.code, r.errOut)
	}
	cfg := filepath.Join(e.home, "xdg", "goimmich", "config.yml")
	if _, err := os.Stat(cfg); !os.IsNotExist(err) {
		t.Fatal("a rejected key was saved")
	}
	r := e.run(s.APIKey()+"\n", "login", s.URL(), "-")
	if r.code != 0 || strings.Contains(r.out+r.errOut, s.APIKey()) {
		t.Fatalf("login: exit %d: %s", r.code, r.errOut)
	}
	st, err := os.Stat(cfg)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("config %s: %v, mode %v; want 0600", cfg, err, st.Mode().Perm())
	}
	r = e.run("", "whoami")
	if r.code != 0 || !strings.Contains(r.out, immichtest.DefaultEmail) || !strings.Contains(r.out, cfg) {
		t.Fatalf("whoami after login: exit %d: %q %s", r.code, r.out, r.errOut)
	}
	if r = e.run("", "logout"); r.code != 0 {
		t.Fatalf("logout: exit %d: %s", r.code, r.errOut)
	}
	if r = e.run("", "whoami"); r.code != 1 {
		t.Fatalf("whoami after logout: exit %d", r.code)
	}
}

func TestOfficialAuthYmlIsPickedUp(t *testing.T) {
	s, _ := fake(t)
	for _, viaEnv := range []bool{false, true} {
		e := newEnv(t, nil)
		dir := filepath.Join(e.home, ".config", "immich")
		if viaEnv {
			dir = filepath.Join(e.home, "elsewhere")
			e.vars["IMMICH_CONFIG_DIR"] = dir
		}
		os.MkdirAll(dir, 0o700)
		os.WriteFile(filepath.Join(dir, "auth.yml"), []byte("url: "+s.URL()+"\nkey: "+s.APIKey()+"\n"), 0o600)
		r := e.run("", "whoami")
		if r.code != 0 || !strings.Contains(r.out, filepath.Join(dir, "auth.yml")) {
			t.Fatalf("IMMICH_CONFIG_DIR=%v: exit %d: %q %s", viaEnv, r.code, r.out, r.errOut)
		}
	}
	// The official CLI's --config-directory flag.
	e := newEnv(t, nil)
	dir := filepath.Join(e.home, "cfg")
	os.MkdirAll(dir, 0o700)
	os.WriteFile(filepath.Join(dir, "auth.yml"), []byte("instanceUrl: "+s.URL()+"\napiKey: "+s.APIKey()+"\n"), 0o600)
	if r := e.run("", "--config-directory", dir, "whoami"); r.code != 0 || !strings.Contains(r.out, immichtest.DefaultEmail) {
		t.Fatalf("--config-directory: exit %d: %q %s", r.code, r.out, r.errOut)
	}
}

func TestServerCommand(t *testing.T) {
	_, e := fake(t)
	r := e.run("", "server", "--json")
	var info struct {
		Version    string
		PinnedAPI  string `json:"pinnedApiVersion"`
		Statistics struct{ Total int }
	}
	pinned, err := os.ReadFile("../../../openapi/IMMICH_VERSION")
	if err != nil {
		t.Fatal(err)
	}
	v := strings.TrimSpace(string(pinned))
	if err := json.Unmarshal([]byte(r.out), &info); err != nil || r.code != 0 || info.Version != v || info.PinnedAPI != v {
		t.Fatalf("server --json: exit %d, %v: %s", r.code, err, r.out)
	}
}

func TestDownloadCommand(t *testing.T) {
	s, e := fake(t)
	dir := t.TempDir()
	src := photos(t, dir, 2)
	if r := e.run("", "upload", "-r", "-A", "Trip", dir); r.code != 0 {
		t.Fatalf("upload: exit %d: %s", r.code, r.errOut)
	}
	var id string
	for _, a := range s.Assets() {
		if a.OriginalFileName == filepath.Base(src[0]) {
			id = a.ID.String()
		}
	}
	out := t.TempDir()
	r := e.run("", "download", id, "-o", out)
	if r.code != 0 {
		t.Fatalf("download: exit %d: %s", r.code, r.errOut)
	}
	a, _ := os.ReadFile(src[0])
	b, err := os.ReadFile(filepath.Join(out, filepath.Base(src[0])))
	if err != nil || sha1.Sum(a) != sha1.Sum(b) {
		t.Fatalf("downloaded file differs or is missing: %v", err)
	}
	var albumID string
	for _, al := range s.Albums() {
		if al.Name == "Trip" {
			albumID = al.ID.String()
		}
	}
	out2 := t.TempDir()
	r = e.run("", "download", "--album", albumID, "-o", out2, "-j")
	var items []struct{ ID, Path, Error string }
	if err := json.Unmarshal([]byte(r.out), &items); err != nil || r.code != 0 || len(items) != 2 {
		t.Fatalf("download --album: exit %d, %v, %s %s", r.code, err, r.out, r.errOut)
	}
	// A rendition, a search and an archive.
	out3 := t.TempDir()
	if r = e.run("", "download", id, "--size", "thumbnail", "-o", out3); r.code != 0 {
		t.Fatalf("download --size thumbnail: exit %d: %s", r.code, r.errOut)
	}
	if entries, _ := os.ReadDir(out3); len(entries) != 1 || entries[0].Name() == filepath.Base(src[0]) {
		t.Fatalf("thumbnail download wrote %v", entries)
	}
	out4 := t.TempDir()
	r = e.run(`{"originalFileName":"`+filepath.Base(src[1])+`"}`, "download", "--search", "-", "-o", out4, "-j")
	items = nil
	if err := json.Unmarshal([]byte(r.out), &items); err != nil || r.code != 0 || len(items) != 1 || filepath.Base(items[0].Path) != filepath.Base(src[1]) {
		t.Fatalf("download --search: exit %d, %v, %s %s", r.code, err, r.out, r.errOut)
	}
	out5 := t.TempDir()
	if r = e.run("", "download", "--album", albumID, "--archive", "-o", out5); r.code != 0 {
		t.Fatalf("download --archive: exit %d: %s", r.code, r.errOut)
	}
	if entries, _ := os.ReadDir(out5); len(entries) != 1 || filepath.Ext(entries[0].Name()) != ".zip" {
		t.Fatalf("archive download wrote %v", entries)
	}
	if r = e.run("", "download", "4f1b8c2e-6a1d-4c3b-9f0e-2d7a5b6c8e90", "-o", out2); r.code != 2 {
		t.Fatalf("download of a missing asset: exit %d, want 2: %s", r.code, r.errOut)
	}
	if r = e.run("", "download", "not-a-uuid"); r.code != 1 || !strings.Contains(r.errOut, "not an asset or album id") {
		t.Fatalf("download not-a-uuid: exit %d: %s", r.code, r.errOut)
	}
}

func TestDemo(t *testing.T) {
	e := newEnv(t, nil) // no server, no credentials
	r := e.run("", "demo", "--photos", "3")
	if r.code != 0 {
		t.Fatalf("demo: exit %d: %s", r.code, r.errOut)
	}
	var res wrapper.UploadResult
	if err := json.Unmarshal([]byte(r.out), &res); err != nil || res.Stats.Uploaded != 3 {
		t.Fatalf("demo stdout: %v, %+v", err, res.Stats)
	}
	for _, want := range []string{"3 already on the server", "same SHA-1"} {
		if !strings.Contains(r.errOut, want) {
			t.Fatalf("demo story lacks %q:\n%s", want, r.errOut)
		}
	}
}

func TestFakeServerCommand(t *testing.T) {
	e := newEnv(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	ios, _, _, _ := iostreams.Test()
	out, errOut := &syncBuffer{}, &syncBuffer{}
	ios.Out, ios.ErrOut = out, errOut
	f := &cmdutil.Factory{IOStreams: ios, Version: "test", Getenv: func(k string) string { return e.vars[k] }}
	done := make(chan int)
	go func() { done <- Run(ctx, f, []string{"fake-server", "--addr", "127.0.0.1:0"}) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(errOut.String(), "Ctrl-C stops it") {
		if time.Now().After(deadline) {
			t.Fatal("fake-server did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "IMMICH_INSTANCE_URL=http://127.0.0.1:") || !strings.HasPrefix(lines[1], "IMMICH_API_KEY=") {
		t.Fatalf("fake-server printed %q", out.String())
	}
	e2 := newEnv(t, map[string]string{"IMMICH_INSTANCE_URL": strings.TrimPrefix(lines[0], "IMMICH_INSTANCE_URL="), "IMMICH_API_KEY": strings.TrimPrefix(lines[1], "IMMICH_API_KEY=")})
	if r := e2.run("", "api", "pingServer"); r.code != 0 || !strings.Contains(r.out, "pong") {
		t.Fatalf("pingServer against fake-server: exit %d: %s %s", r.code, r.out, r.errOut)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("fake-server exit %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("fake-server did not stop on cancel")
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Ctrl-C (the context ending) stops an upload cleanly: exit 2, the partial
// UploadResult on standard output, every file accounted for.
func TestUploadInterrupted(t *testing.T) {
	s, e := fake(t)
	dir := t.TempDir()
	photos(t, dir, 20)
	s.SetFaults(immichtest.Faults{Operations: []string{"uploadAsset"}, Latency: 100 * time.Millisecond})
	ios, _, out, errOut := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, Version: "test", Getenv: func(k string) string { return e.vars[k] }}
	// Press Ctrl-C once the server has seen two uploads, however loaded the
	// machine is.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for ctx.Err() == nil && s.RequestCount("uploadAsset") < 2 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	code := Run(ctx, f, []string{"upload", "-r", "-j", "-c", "1", dir})
	cancel()
	<-watched
	var res wrapper.UploadResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("exit %d, stdout not UploadResult JSON: %v\n%s", code, err, errOut)
	}
	if code != 2 || res.Stats.Total != 20 || res.Stats.Failed == 0 || res.Stats.Uploaded+res.Stats.Failed != 20 {
		t.Fatalf("exit %d, stats %+v; want 2 and a partial result covering all 20 files", code, res.Stats)
	}
	if !strings.Contains(errOut.String(), "interrupted") {
		t.Fatalf("summary does not say it was interrupted: %s", errOut)
	}
	// Every file reported uploaded is on the server. The one upload in
	// flight (-c 1) when Ctrl-C came may have been stored after the client
	// stopped waiting for its answer: it is reported failed, and a re-run
	// finds it as a duplicate.
	if got := len(s.Assets()); got < res.Stats.Uploaded || got > res.Stats.Uploaded+1 {
		t.Fatalf("server has %d assets, result says %d uploaded (and at most one was in flight)", got, res.Stats.Uploaded)
	}
}

// The official CLI's environment variables set upload's flags; -h is help,
// as in the official CLI 3.2.2.
func TestUploadOfficialEnvAndHelp(t *testing.T) {
	s, e := fake(t)
	dir := t.TempDir()
	photos(t, dir, 4)
	e.vars["IMMICH_RECURSIVE"] = "true"
	e.vars["IMMICH_ALBUM_NAME"] = "From env"
	e.vars["IMMICH_JSON_OUTPUT"] = "true"
	r := e.run("", "upload", dir)
	var res wrapper.UploadResult
	if err := json.Unmarshal([]byte(r.out), &res); err != nil || r.code != 0 || res.Stats.Uploaded != 4 {
		t.Fatalf("exit %d, %v, stats %+v: %s", r.code, err, res.Stats, r.errOut)
	}
	albums := s.Albums()
	if len(albums) != 1 || albums[0].Name != "From env" {
		t.Fatalf("albums %+v, want one named From env", albums)
	}
	e.vars["IMMICH_UPLOAD_CONCURRENCY"] = "many"
	if r = e.run("", "upload", dir); r.code != 1 || !strings.Contains(r.errOut, "IMMICH_UPLOAD_CONCURRENCY") {
		t.Fatalf("bad env value: exit %d: %s", r.code, r.errOut)
	}
	if r = e.run("", "upload", "-h"); r.code != 0 || !strings.Contains(r.out, "--skip-hash") {
		t.Fatalf("upload -h: exit %d: %s", r.code, r.errOut)
	}
}

// openPTY opens a pseudo-terminal and returns its master and slave ends.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening a pseudo-terminal: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	sl, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening the pty slave: %v", err)
	}
	// A new pty is 0×0; a terminal window is not.
	if err := unix.IoctlSetWinsize(int(sl.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 100}); err != nil {
		t.Fatalf("setting the pty size: %v", err)
	}
	return m, sl
}

// On a terminal the mpb bars go to standard error; standard output still
// holds only the JSON. The terminal is a real pseudo-terminal.
func TestUploadProgressOnTerminal(t *testing.T) {
	_, e := fake(t)
	dir := t.TempDir()
	photos(t, dir, 8)
	for _, noProgress := range []bool{false, true} {
		master, slave := openPTY(t)
		var drawn syncBuffer
		copied := make(chan struct{})
		go func() { io.Copy(&drawn, master); close(copied) }()

		ios, _, out, _ := iostreams.Test()
		ios.ErrOut = slave
		ios.SetStderrTTY(true)
		f := &cmdutil.Factory{IOStreams: ios, Version: "test", Getenv: func(k string) string { return e.vars[k] }}
		args := []string{"upload", "-r", "-j", dir}
		if noProgress {
			args = append(args, "--no-progress")
		}
		code := Run(context.Background(), f, args)
		slave.Close()
		<-copied // the master reads EIO once the slave is closed
		master.Close()
		if code != 0 {
			t.Fatalf("exit %d: %s", code, drawn.String())
		}
		var res wrapper.UploadResult
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatalf("stdout is not only JSON: %v", err)
		}
		bars := strings.Contains(drawn.String(), "files ") && strings.Contains(drawn.String(), "bytes ")
		if bars == noProgress {
			t.Fatalf("--no-progress=%v, bars drawn=%v:\n%q", noProgress, bars, drawn.String())
		}
		if !strings.Contains(drawn.String(), "8 files: ") {
			t.Fatalf("no summary after the bars: %q", drawn.String())
		}
	}
}

// --dry-run changes nothing; --delete removes local files only once the
// server has them.
func TestUploadDryRunAndDelete(t *testing.T) {
	s, e := fake(t)
	dir := t.TempDir()
	paths := photos(t, dir, 2)
	r := e.run("", "upload", "-r", "-n", dir)
	if r.code != 0 || len(s.Assets()) != 0 || !strings.Contains(r.errOut, "would upload 2") {
		t.Fatalf("dry run: exit %d, server has %d assets: %s", r.code, len(s.Assets()), r.errOut)
	}
	r = e.run("", "upload", "-r", "--delete", dir)
	if r.code != 0 || len(s.Assets()) != 2 {
		t.Fatalf("--delete: exit %d, server has %d assets: %s", r.code, len(s.Assets()), r.errOut)
	}
	for _, p := range paths {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Fatalf("%s still there after --delete", p)
		}
	}
}

// Immich 3 refuses a request it cannot validate with the field's path;
// the command's message names it, and the exit code is not 0.
func TestValidationErrorNamesTheField(t *testing.T) {
	s := immichtest.NewServer()
	defer s.Close()
	e := newEnv(t, map[string]string{"IMMICH_INSTANCE_URL": s.URL(), "IMMICH_API_KEY": s.APIKey()})
	r := e.run("", "api", "createAlbum", "--data", `{"albumName": 5}`)
	if r.code == 0 || !strings.Contains(r.errOut, "400") || !strings.Contains(r.errOut, "albumName: ") {
		t.Fatalf("exit %d, stderr %q: want a 400 naming albumName", r.code, r.errOut)
	}
	if f := s.ValidationFailures(); len(f) != 1 || f[0].Response {
		t.Fatalf("the fake saw %+v; want the one bad request", f)
	}
}

// upload --recheck-after trusts the hash cache's recent confirmations: a
// re-run of an unchanged folder asks the server nothing about its files and
// reports them as duplicates; without the flag a re-run asks again.
func TestUploadRecheckAfterAsksNothing(t *testing.T) {
	s, e := fake(t)
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour) // outside the cache's racy window
	for _, p := range photos(t, dir, 4) {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if r := e.run("", "upload", "-r", "-j", dir); r.code != 0 {
		t.Fatalf("first run: exit %d: %s", r.code, r.errOut)
	}
	checks, uploads := s.RequestCount("checkBulkUpload"), s.RequestCount("uploadAsset")
	r := e.run("", "upload", "-r", "-j", "--recheck-after", "1h", dir)
	var res wrapper.UploadResult
	if err := json.Unmarshal([]byte(r.out), &res); r.code != 0 || err != nil {
		t.Fatalf("re-run: exit %d, %v: %s", r.code, err, r.errOut)
	}
	if res.Stats.Rejected != 4 || res.Stats.HashCacheHits != 4 {
		t.Fatalf("re-run stats %+v; want 4 duplicates, all cache hits", res.Stats)
	}
	for _, f := range res.Rejected {
		if f.Reason != wrapper.RejectDuplicate || f.AssetID == nil || *f.AssetID == "" {
			t.Fatalf("re-run: %+v, want a duplicate naming its asset", f)
		}
	}
	if c, u := s.RequestCount("checkBulkUpload")-checks, s.RequestCount("uploadAsset")-uploads; c != 0 || u != 0 {
		t.Fatalf("re-run with --recheck-after 1h made %d bulk checks and %d uploads, want none", c, u)
	}
	if r := e.run("", "upload", "-r", "-j", dir); r.code != 0 {
		t.Fatalf("re-run without the flag: exit %d: %s", r.code, r.errOut)
	}
	if s.RequestCount("checkBulkUpload") == checks {
		t.Fatal("a re-run without --recheck-after did not ask the server")
	}
}
