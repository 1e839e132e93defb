package upload_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/goimmich/goimmich/immichtest"
	"github.com/goimmich/goimmich/internal/cli/cmdutil"
	"github.com/goimmich/goimmich/internal/cli/iostreams"
	"github.com/goimmich/goimmich/internal/cli/root"
	"github.com/goimmich/goimmich/internal/cli/upload"
	"github.com/goimmich/goimmich/wrapper"
)

// runMainEnv, set in the environment of the test binary run by
// TestWatchSIGTERM, makes TestWatchHelperProcess run goimmich with the
// arguments after "--".
const runMainEnv = "GOIMMICH_TEST_RUN_MAIN"

// TestWatchHelperProcess is goimmich itself when runMainEnv is set, so
// that a test can send a real process signals; otherwise it does nothing.
func TestWatchHelperProcess(t *testing.T) {
	if os.Getenv(runMainEnv) != "1" {
		return
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Exit(root.Main(cmdutil.New("test"), args))
}

// fake starts immichtest and returns it with the variables that point
// goimmich at it, and a fresh HOME.
func fake(t *testing.T) (*immichtest.Server, map[string]string) {
	t.Helper()
	s := immichtest.NewServer()
	t.Cleanup(func() {
		if f := s.ValidationFailures(); len(f) > 0 {
			t.Errorf("requests or answers that break the spec: %+v", f)
		}
		s.Close()
	})
	home := t.TempDir()
	return s, map[string]string{"IMMICH_INSTANCE_URL": s.URL(), "IMMICH_API_KEY": s.APIKey(), "HOME": home,
		"XDG_CACHE_HOME": filepath.Join(home, ".cache"), "XDG_CONFIG_HOME": filepath.Join(home, ".config")}
}

func factory(vars map[string]string) (*cmdutil.Factory, *syncBuffer, *syncBuffer) {
	ios, _, _, _ := iostreams.Test()
	out, errOut := &syncBuffer{}, &syncBuffer{}
	ios.Out, ios.ErrOut = out, errOut
	f := &cmdutil.Factory{IOStreams: ios, Version: "test", Getenv: func(k string) string { return vars[k] },
		Retry: &wrapper.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}}
	return f, out, errOut
}

// syncBuffer is a strings.Builder safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// writeOld writes files with a modification time an hour ago: a library
// that was there before the watch started (a full pass holds back files
// modified within the settle time).
func writeOld(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	write(t, dir, files)
	old := time.Now().Add(-time.Hour)
	for name := range files {
		if err := os.Chtimes(filepath.Join(dir, filepath.FromSlash(name)), old, old); err != nil {
			t.Fatal(err)
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not within 20s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The --watch flags, and IMMICH_WATCH_CHANGES as the official CLI names it,
// reach Options.
func TestWatchFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want upload.WatchFlags
	}{
		{[]string{"x"}, nil, upload.WatchFlags{BatchSize: 100, BatchInterval: 10 * time.Second, Settle: 5 * time.Second}},
		{[]string{"--watch", "--watch-batch-size", "7", "--watch-interval", "2s", "--watch-settle", "1m", "x"}, nil,
			upload.WatchFlags{Enabled: true, BatchSize: 7, BatchInterval: 2 * time.Second, Settle: time.Minute}},
		{[]string{"x"}, map[string]string{"IMMICH_WATCH_CHANGES": "true"}, upload.WatchFlags{Enabled: true, BatchSize: 100, BatchInterval: 10 * time.Second, Settle: 5 * time.Second}},
	} {
		f, _, _ := factory(tc.env)
		var got *upload.Options
		cmd := upload.NewCmdUpload(f, func(_ context.Context, o *upload.Options) error { got = o; return nil })
		cmd.SetArgs(tc.args)
		cmd.SetOut(io.Discard)
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if got.Watch != tc.want {
			t.Errorf("%v %v: %+v, want %+v", tc.args, tc.env, got.Watch, tc.want)
		}
	}
}

// upload --watch in process: a first pass, one JSON line and one summary
// line per batch, exit 0 with a summary when the context ends; bad watch
// flags and a wrong key exit 1 at once.
func TestWatchCommand(t *testing.T) {
	s, vars := fake(t)
	dir := t.TempDir()
	writeOld(t, dir, map[string]string{"first.jpg": "cli first", "sub/deep.jpg": "cli deep"})
	f, out, errOut := factory(vars)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- root.Run(ctx, f, []string{"upload", "--watch", "-j", "--watch-interval", "50ms", "--watch-settle", "100ms", dir})
	}()
	waitFor(t, "the first pass", func() bool { return strings.Count(out.String(), "\n") >= 1 })
	write(t, dir, map[string]string{"second.jpg": "cli second", "sub/later.jpg": "cli later, not recursive"})
	waitFor(t, "the second batch", func() bool { return strings.Count(out.String(), "\n") >= 2 })
	time.Sleep(300 * time.Millisecond)
	cancel()
	var code int
	select {
	case code = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("upload --watch did not stop within 10s of its context ending")
	}
	if code != 0 {
		t.Fatalf("exit %d, want 0: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var uploaded []string
	for _, l := range lines {
		var res wrapper.UploadResult
		if err := json.Unmarshal([]byte(l), &res); err != nil {
			t.Fatalf("stdout line is not an UploadResult: %v: %q", err, l)
		}
		for _, u := range res.Uploaded {
			uploaded = append(uploaded, filepath.Base(u.Filepath))
		}
	}
	if len(lines) != 2 || strings.Join(uploaded, ",") != "first.jpg,second.jpg" || len(s.Assets()) != 2 {
		t.Fatalf("%d JSON lines, uploaded %v, server has %d; want first.jpg then second.jpg (no -r: sub/ left alone)\n%s", len(lines), uploaded, len(s.Assets()), errOut)
	}
	if e := errOut.String(); strings.Count(e, " files: uploaded 1 ") != 2 || !strings.Contains(e, "Stopped: 2 batches: uploaded 2") {
		t.Fatalf("stderr lacks the batch summaries or the final one:\n%s", e)
	}

	f, _, errOut = factory(vars)
	if code := root.Run(context.Background(), f, []string{"upload", "--watch", "--watch-interval", "0s", dir}); code != 1 || !strings.Contains(errOut.String(), "--watch-interval") {
		t.Fatalf("--watch-interval 0s: exit %d: %s", code, errOut)
	}
	vars["IMMICH_API_KEY"] = "wrong-key-0123456789"
	f, _, errOut = factory(vars)
	start := time.Now()
	if code := root.Run(context.Background(), f, []string{"upload", "--watch", dir}); code != 1 || !strings.Contains(errOut.String(), "wrong API key") || time.Since(start) > 10*time.Second {
		t.Fatalf("wrong key: exit %d after %v: %s", code, time.Since(start), errOut)
	}
}

// SIGTERM to a real goimmich process running upload --watch: it stops
// cleanly and exits 0 within seconds, with its summary.
func TestWatchSIGTERM(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no SIGTERM to send")
	}
	s, vars := fake(t)
	dir := t.TempDir()
	writeOld(t, dir, map[string]string{"a.jpg": "signal a"})
	cmd := exec.Command(os.Args[0], "-test.run=^TestWatchHelperProcess$", "--",
		"upload", "--watch", "-r", "-j", "--watch-interval", "50ms", "--watch-settle", "100ms", dir)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var errOut syncBuffer
	cmd.Stderr = &errOut
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func(what string) string {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("waiting for %s: the process ended: %s", what, errOut.String())
			}
			return l
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("waiting for %s: nothing within 20s: %s", what, errOut.String())
		}
		return ""
	}
	next("the first pass")
	write(t, dir, map[string]string{"new/b.jpg": "signal b"})
	if l := next("the batch of the new file"); !strings.Contains(l, "b.jpg") {
		t.Fatalf("second batch %s", l)
	}
	// A third file whose upload the server holds for a minute: SIGTERM
	// comes while it is in flight.
	s.SetFaults(immichtest.Faults{Operations: []string{"uploadAsset"}, Latency: time.Minute})
	write(t, dir, map[string]string{"c.jpg": "signal c, in flight"})
	waitFor(t, "the third upload to start", func() bool { return s.RequestCount("uploadAsset") == 3 })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	start := time.Now()
	var last string
	go func() {
		for l := range lines {
			last = l
		}
		exited <- cmd.Wait()
	}()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v, want 0: %s", err, errOut.String())
		}
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-exited
		t.Fatalf("still running 5s after SIGTERM: %s", errOut.String())
	}
	if !strings.Contains(errOut.String(), "Stopped: 3 batches: uploaded 2") || len(s.Assets()) != 2 {
		t.Fatalf("after %v: server has %d assets; stderr: %s", time.Since(start), len(s.Assets()), errOut.String())
	}
	// The interrupted batch is reported, its file as failed, not uploaded.
	var res wrapper.UploadResult
	if err := json.Unmarshal([]byte(last), &res); err != nil || res.Stats.Uploaded != 0 || len(res.Failed) != 1 || filepath.Base(res.Failed[0].Filepath) != "c.jpg" {
		t.Fatalf("last batch %v: %s", err, last)
	}
}
