// Package demo is "goimmich demo": the main job shown end to end with no
// Immich at hand. It starts the fake server in process, uploads a folder (or
// a small generated set of photos), uploads it again to show that nothing is
// sent twice, downloads one photo back and verifies it byte for byte.
package demo

import (
	"context"
	"crypto/sha1"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/goimmich/goimmich/internal/cli/cmdutil"
	"github.com/goimmich/goimmich/internal/cli/fakeserver"
	"github.com/goimmich/goimmich/internal/cli/iostreams"
	"github.com/goimmich/goimmich/wrapper"
)

// Options is one run of "demo".
type Options struct {
	IO      *iostreams.IOStreams
	Factory *cmdutil.Factory
	Dir     string
	Photos  int
}

// NewCmdDemo returns the "demo" command.
func NewCmdDemo(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "demo [DIR]",
		Short: "See upload and download work against a built-in fake Immich server",
		Long: `Start the fake Immich server in this process, upload DIR (or a few
generated JPEG photos) to it, upload again to show duplicates are not sent
twice, download one photo back and verify it byte for byte. Needs no
network and no Immich server, and changes nothing in DIR.

The UploadResult of the first upload is printed as JSON on standard output;
the story of what happened goes to standard error.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Dir = args[0]
			}
			if opts.Photos < 1 || opts.Photos > 1000 {
				return cmdutil.FlagErrorf("--photos must be between 1 and 1000")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return demoRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.Photos, "photos", 6, "Number of photos to generate when no DIR is given")
	return cmd
}

func demoRun(ctx context.Context, opts *Options) error {
	say := func(format string, args ...any) { fmt.Fprintf(opts.IO.ErrOut, format+"\n", args...) }
	work, err := os.MkdirTemp("", "goimmich-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	s, err := fakeserver.Start("127.0.0.1:0", filepath.Join(work, "server"), "")
	if err != nil {
		return err
	}
	defer s.Close()
	say("1. Started a fake Immich %s server at %s (in this process).", s.SpecVersion(), s.URL())

	dir := opts.Dir
	if dir == "" {
		dir = filepath.Join(work, "photos")
		if err := generatePhotos(dir, opts.Photos); err != nil {
			return fmt.Errorf("generating photos: %w", err)
		}
		say("2. Generated %d JPEG photos in %s.", opts.Photos, dir)
	} else {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return cmdutil.FlagErrorf("%s is not a folder", dir)
		}
		say("2. Using your folder %s (read only: nothing in it is changed).", dir)
	}

	c, err := opts.Factory.NewClient(s.URL(), s.APIKey())
	if err != nil {
		return err
	}
	// The demo's files are temporary: no hash cache (off unless a path is given).
	uo := wrapper.UploadOptions{AlbumName: "goimmich demo"}
	var bars *wrapper.BarProgress
	if opts.IO.CanShowProgress() {
		bars = wrapper.NewBarProgress(opts.IO.ErrOut)
		uo.Progress = bars
	}
	res, err := c.Upload(ctx, []string{dir}, uo)
	if bars != nil {
		bars.Wait()
	}
	if err != nil {
		return fmt.Errorf("uploading: %w", err)
	}
	say("3. Uploaded %s: %d uploaded (%d bytes), %d rejected, %d failed, in %d ms; album %q.",
		dir, res.Stats.Uploaded, res.Stats.BytesUploaded, res.Stats.Rejected, res.Stats.Failed, res.Stats.DurationMS, uo.AlbumName)
	if err := cmdutil.WriteJSON(opts.IO.Out, res); err != nil {
		return err
	}

	again, err := c.Upload(ctx, []string{dir}, wrapper.UploadOptions{})
	if err != nil {
		return fmt.Errorf("uploading again: %w", err)
	}
	say("4. Uploaded the same folder again: %d uploaded, %d already on the server (found by SHA-1, not sent again).",
		again.Stats.Uploaded, again.Stats.Rejected)

	if len(res.Uploaded) == 0 {
		say("5. Nothing was uploaded (no photos or videos in %s), so there is nothing to download back.", dir)
		if res.Stats.Failed > 0 {
			return &cmdutil.ExitError{Code: cmdutil.ExitPartial}
		}
		return nil
	}
	first := res.Uploaded[0]
	id := uuid.UUID(first.Asset.Id)
	outDir := filepath.Join(work, "downloaded")
	dl, err := c.DownloadAssetToFile(ctx, id, outDir, wrapper.DownloadOptions{})
	if err != nil {
		return fmt.Errorf("downloading %s back: %w", first.Filepath, err)
	}
	a, err := fileSHA1(first.Filepath)
	if err != nil {
		return err
	}
	b, err := fileSHA1(dl.Path)
	if err != nil {
		return err
	}
	if a != b {
		return fmt.Errorf("the downloaded copy of %s differs from the original (SHA-1 %x vs %x)", first.Filepath, b, a)
	}
	say("5. Downloaded asset %s back as %s: same SHA-1 (%x) as %s.", id, filepath.Base(dl.Path), a, filepath.Base(first.Filepath))
	say("Done. Against your own server: goimmich login URL KEY, then goimmich upload -r DIR.")
	if res.Stats.Failed > 0 {
		return &cmdutil.ExitError{Code: cmdutil.ExitPartial}
	}
	return nil
}

// generatePhotos writes n distinct 640×480 JPEGs (colour gradients) into
// dir, with file times a day apart.
func generatePhotos(dir string, n int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	base := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	for i := range n {
		img := image.NewRGBA(image.Rect(0, 0, 640, 480))
		for y := range 480 {
			for x := range 640 {
				img.Set(x, y, color.RGBA{R: uint8(x*255/639 + i*40), G: uint8(y*255/479 + i*70), B: uint8(i * 37), A: 255})
			}
		}
		name := filepath.Join(dir, fmt.Sprintf("IMG_%04d.jpg", i+1))
		f, err := os.Create(name)
		if err != nil {
			return err
		}
		err = jpeg.Encode(f, img, &jpeg.Options{Quality: 85})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		t := base.Add(time.Duration(i) * 24 * time.Hour)
		if err := os.Chtimes(name, t, t); err != nil {
			return err
		}
	}
	return nil
}

func fileSHA1(path string) ([20]byte, error) {
	var sum [20]byte
	f, err := os.Open(path)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	h := sha1.New()
	if _, err := io.Copy(h, f); err != nil {
		return sum, err
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}
