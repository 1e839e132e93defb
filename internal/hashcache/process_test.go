package hashcache

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sep separates the fields of childEnv.
const sep = "\x1f"

// childResult is what a child process reports on its last stdout line.
type childResult struct {
	Persistent bool   `json:"persistent"`
	Dropped    int64  `json:"dropped"`
	CloseErr   string `json:"close_err"`
}

// runChild is the body of a child process started by these tests.
// HASHCACHE_TEST_CHILD = "mode db prefix n [batch flushInterval]", fields
// separated by sep (paths may hold commas). Modes:
//
//	hold:  open, store n entries, print "opened", wait for stdin EOF, close.
//	crash: open, store n entries, exit without Close (a killed run).
//	emfile: like hold, but Open runs out of file descriptors (linux).
//
// Warnings go to stderr.
func runChild() int {
	parts := strings.Split(os.Getenv(childEnv), sep)
	if len(parts) != 4 && len(parts) != 6 {
		fmt.Fprintln(os.Stderr, "bad", childEnv)
		return 2
	}
	mode, db, prefix := parts[0], parts[1], parts[2]
	n, _ := strconv.Atoi(parts[3])
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	opts := []Option{WithLogger(log), WithLockTimeout(200 * time.Millisecond)}
	if len(parts) == 6 {
		batch, _ := strconv.Atoi(parts[4])
		interval, _ := time.ParseDuration(parts[5])
		opts = append(opts, WithBatchSize(batch), WithFlushInterval(interval))
	}
	release := func() {}
	if mode == "emfile" {
		release = exhaustFDs()
	}
	c, err := Open(db, opts...)
	release()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for i := range n {
		k, sum := synthKey(prefix, i)
		c.Store(k, sum)
	}
	switch mode {
	case "crash":
		os.Exit(0) // no Close, no flush of the last batch
	case "hold", "emfile":
		fmt.Println("opened", c.Stats().Persistent)
		_, _ = io.Copy(io.Discard, os.Stdin)
	}
	persistent := c.Stats().Persistent
	res := childResult{Persistent: persistent}
	if err := c.Close(); err != nil {
		res.CloseErr = err.Error()
	}
	res.Dropped = c.Stats().Dropped
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
	return 0
}

type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Scanner
	stderr strings.Builder
}

func startChild(t *testing.T, mode, db, prefix string, n int, extra ...string) *child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ch := &child{cmd: exec.Command(exe)}
	spec := strings.Join(append([]string{mode, db, prefix, strconv.Itoa(n)}, extra...), sep)
	ch.cmd.Env = append(os.Environ(), childEnv+"="+spec)
	ch.cmd.Stderr = &ch.stderr
	if ch.stdin, err = ch.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := ch.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	ch.stdout = bufio.NewScanner(out)
	if err := ch.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = ch.stdin.Close()
		if ch.cmd.ProcessState == nil {
			_ = ch.cmd.Process.Kill()
			_ = ch.cmd.Wait()
		}
	})
	return ch
}

func (ch *child) line(t *testing.T) string {
	t.Helper()
	if !ch.stdout.Scan() {
		t.Fatalf("child ended early: %v; stderr: %s", ch.stdout.Err(), ch.stderr.String())
	}
	return ch.stdout.Text()
}

func (ch *child) finish(t *testing.T) childResult {
	t.Helper()
	_ = ch.stdin.Close()
	var res childResult
	if err := json.Unmarshal([]byte(ch.line(t)), &res); err != nil {
		t.Fatal(err)
	}
	for ch.stdout.Scan() {
	}
	if err := ch.cmd.Wait(); err != nil {
		t.Fatalf("child: %v; stderr: %s", err, ch.stderr.String())
	}
	return res
}

// TestTwoProcesses runs two real processes on one cache file. The second
// starts while the first holds the file: it must run on (memory mode, a
// warning), and after the first has finished, save its entries at Close.
func TestTwoProcesses(t *testing.T) {
	db := filepath.Join(t.TempDir(), "hashes.db")
	const n = 2500
	first := startChild(t, "hold", db, "p1", n)
	if l := first.line(t); l != "opened true" {
		t.Fatalf("first process: %q", l)
	}
	second := startChild(t, "hold", db, "p2", n)
	if l := second.line(t); l != "opened false" {
		t.Fatalf("second process should have fallen back to memory, got %q", l)
	}
	r1 := first.finish(t)
	r2 := second.finish(t)
	if r1.CloseErr != "" || r2.CloseErr != "" || r1.Dropped != 0 || r2.Dropped != 0 {
		t.Fatalf("results %+v, %+v; want both saved", r1, r2)
	}
	if !strings.Contains(second.stderr.String(), "in use by another goimmich run") {
		t.Fatalf("second process did not warn; stderr: %s", second.stderr.String())
	}
	assertEntries(t, db, map[string]int{"p1": n, "p2": n})
}

// TestKilledRunKeepsCommittedBatches: a run that dies without Close leaves
// a valid file holding every batch it committed (all but the last, which
// is smaller than DefaultBatchSize).
func TestKilledRunKeepsCommittedBatches(t *testing.T) {
	db := filepath.Join(t.TempDir(), "hashes.db")
	ch := startChild(t, "crash", db, "k", 2*DefaultBatchSize+DefaultBatchSize/2)
	_ = ch.stdin.Close()
	if err := ch.cmd.Wait(); err != nil {
		t.Fatalf("child: %v; stderr: %s", err, ch.stderr.String())
	}
	assertEntries(t, db, map[string]int{"k": 2 * DefaultBatchSize})
	c := mustOpen(t, db)
	defer mustClose(t, c)
	k, _ := synthKey("k", 2*DefaultBatchSize+100)
	if _, ok := c.Lookup(k); ok {
		t.Fatal("an entry of the unflushed last batch is present")
	}
}

// TestBatchOptions: the batch size and the flush interval decide what a
// killed run has committed.
func TestBatchOptions(t *testing.T) {
	tests := []struct {
		name         string
		n            int
		batch, every string
		want         int
	}{
		{"batch of 10, 25 stored", 25, "10", "1h", 20},
		{"flush interval elapsed at every store", 7, "1000", "1ns", 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "hashes.db")
			ch := startChild(t, "crash", db, "k", tt.n, tt.batch, tt.every)
			_ = ch.stdin.Close()
			if err := ch.cmd.Wait(); err != nil {
				t.Fatalf("child: %v; stderr: %s", err, ch.stderr.String())
			}
			assertEntries(t, db, map[string]int{"k": tt.want})
			c := mustOpen(t, db)
			defer mustClose(t, c)
			if tt.want < tt.n {
				if k, _ := synthKey("k", tt.want); func() bool { _, ok := c.Lookup(k); return ok }() {
					t.Fatal("an entry of the unflushed batch is present")
				}
			}
		})
	}
}
