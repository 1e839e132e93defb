//go:build unix

package upload

import (
	"context"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The first SIGTERM cancels the watch; the second exits at once, with
// code 2. Real signals, sent to this process while onSignals listens.
func TestOnSignalsSecondExits(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var out strings.Builder
	exited := make(chan int, 1)
	stop := onSignals(cancel, writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return out.Write(p)
	}), func(code int) { exited <- code })
	defer stop()

	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the first SIGTERM did not cancel the watch")
	}
	select {
	case code := <-exited:
		t.Fatalf("exit(%d) after one signal", code)
	case <-time.After(100 * time.Millisecond):
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exited:
		if code != 2 {
			t.Fatalf("exit(%d) after the second signal, want 2", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second SIGTERM did not exit")
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(out.String(), "Stopping") || !strings.Contains(out.String(), "Exiting at once") {
		t.Fatalf("messages: %q", out.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
