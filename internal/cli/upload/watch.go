package upload

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/goimmich/goimmich/internal/cli/cmdutil"
	"github.com/goimmich/goimmich/wrapper"
)

// WatchFlags are upload's --watch flags.
type WatchFlags struct {
	Enabled       bool
	BatchSize     int
	BatchInterval time.Duration
	Settle        time.Duration
}

// addWatchFlags registers the --watch flags on fl.
func addWatchFlags(fl *pflag.FlagSet, w *WatchFlags) {
	fl.BoolVar(&w.Enabled, "watch", false, "Keep running: after a full pass, upload new and changed files as they appear (env IMMICH_WATCH_CHANGES)")
	fl.IntVar(&w.BatchSize, "watch-batch-size", wrapper.DefaultWatchBatchSize, "With --watch, upload a batch as soon as this many files are ready")
	fl.DurationVar(&w.BatchInterval, "watch-interval", wrapper.DefaultWatchBatchInterval, "With --watch, upload the files ready so far this long after the first")
	fl.DurationVar(&w.Settle, "watch-settle", wrapper.DefaultWatchSettle, "With --watch, a file is ready once its size and time have not changed for this long")
}

// watchRun is "upload --watch": wrapper.Watch until SIGINT or SIGTERM,
// one summary line (and with -j one JSON line) per batch. It exits 1 when
// the first pass cannot start, 0 when stopped by a signal.
func watchRun(ctx context.Context, opts *Options) error {
	w := opts.Watch
	switch {
	case w.BatchSize < 1:
		return cmdutil.FlagErrorf("--watch-batch-size must be at least 1")
	case w.BatchInterval <= 0:
		return cmdutil.FlagErrorf("--watch-interval must be more than 0 (e.g. 10s)")
	case w.Settle <= 0:
		return cmdutil.FlagErrorf("--watch-settle must be more than 0 (e.g. 5s)")
	}
	cmdutil.FrugalGC()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer onSignals(cancel, opts.IO.ErrOut, os.Exit)()
	c, _, err := opts.Factory.Connect(ctx)
	if err != nil {
		return err
	}
	wo := wrapper.WatchOptions{
		UploadOptions: watchUploadOptions(opts),
		BatchSize:     w.BatchSize,
		BatchInterval: w.BatchInterval,
		Settle:        w.Settle,
	}
	var total watchTotals
	enc := json.NewEncoder(opts.IO.Out)
	wo.OnBatch = func(res *wrapper.UploadResult) {
		total.add(res)
		if opts.JSON {
			_ = enc.Encode(res) // one line; a closed stdout must not stop the watch
		}
		fmt.Fprintf(opts.IO.ErrOut, "%s ", time.Now().Format(time.DateTime))
		printSummary(opts, res, ctx.Err() != nil)
	}
	wo.OnError = func(err error, retryIn time.Duration) {
		again := ""
		if retryIn > 0 {
			again = fmt.Sprintf("; trying again in %s", retryIn.Round(time.Millisecond))
		}
		fmt.Fprintf(opts.IO.ErrOut, "%s %s%s\n", time.Now().Format(time.DateTime), opts.Factory.Redact(err.Error()), again)
	}
	fmt.Fprintf(opts.IO.ErrOut, "Watching %s (Ctrl-C stops)\n", strings.Join(opts.Paths, ", "))
	if err := c.Watch(ctx, opts.Paths, wo); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "Stopped: %s\n", total)
	return nil
}

// watchUploadOptions maps upload's flags to the UploadOptions of each
// batch, as upload does for its one run.
func watchUploadOptions(opts *Options) wrapper.UploadOptions {
	uo := libraryOptions(opts)
	if opts.IO.CanShowProgress() && !opts.NoProgress {
		uo.ShowProgress, uo.ProgressOutput = true, opts.IO.ErrOut
	}
	return uo
}

// watchTotals sums the batches of a watch.
type watchTotals struct {
	batches, uploaded, duplicates, failed int
	bytes                                 int64
}

func (t *watchTotals) add(res *wrapper.UploadResult) {
	t.batches++
	t.uploaded += res.Stats.Uploaded
	t.bytes += res.Stats.BytesUploaded
	t.failed += res.Stats.Failed
	for _, r := range res.Rejected {
		if r.Reason == wrapper.RejectDuplicate {
			t.duplicates++
		}
	}
}

func (t watchTotals) String() string {
	return fmt.Sprintf("%d batches: uploaded %d (%s), %d already on the server, %d failed",
		t.batches, t.uploaded, humanBytes(t.bytes), t.duplicates, t.failed)
}

// onSignals cancels the watch on the first SIGINT or SIGTERM and calls
// exit(2) (os.Exit: the process ends at once) on the second. The returned
// func stops listening.
func onSignals(cancel context.CancelFunc, errOut io.Writer, exit func(int)) (stop func()) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for n := 1; ; n++ {
			select {
			case <-done:
				return
			case <-ch:
			}
			if n == 1 {
				fmt.Fprintln(errOut, "Stopping: the batch in flight ends cleanly (a second signal exits at once)")
				cancel()
				continue
			}
			fmt.Fprintln(errOut, "Exiting at once: files in flight are not recorded as uploaded")
			exit(cmdutil.ExitPartial)
		}
	})
	return func() {
		signal.Stop(ch)
		close(done)
		wg.Wait()
	}
}
