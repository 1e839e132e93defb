package upload

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goimmich/goimmich/immichtest"
	"github.com/goimmich/goimmich/internal/cli/cmdutil"
	"github.com/goimmich/goimmich/internal/cli/iostreams"
	"github.com/goimmich/goimmich/wrapper"
)

// uploadOnce with -j writes the same JSON document as the whole
// UploadResult would give (its lists spooled to temporary files, which it
// removes), and its summary counts the outcomes it was handed: a first run
// uploads, a re-run finds duplicates, and the unsupported file named
// explicitly is counted as such.
func TestUploadOnceSpoolsTheResult(t *testing.T) {
	s := immichtest.NewServer()
	defer s.Close()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dir := t.TempDir()
	for i := range 30 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("IMG_%03d.jpg", i)), fmt.Appendf(nil, "photo %d", i), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	notes := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notes, []byte("not a photo"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := wrapper.New(s.URL(), wrapper.WithAPIKey(s.APIKey()))
	if err != nil {
		t.Fatal(err)
	}
	for run, want := range []string{"30 files: uploaded 30", "30 files: uploaded 0 (0 B), 30 already on the server"} {
		ios, _, out, errOut := iostreams.Test()
		opts := &Options{IO: ios, Factory: &cmdutil.Factory{}, Paths: []string{dir}, JSON: true, NoCache: true, Concurrency: 3}
		if err := uploadOnce(context.Background(), c, opts); err != nil {
			t.Fatalf("run %d: %v: %s", run, err, errOut)
		}
		// Standard error holds the plain-text progress (not a terminal),
		// then the summary line.
		if !strings.Contains(errOut.String(), "\n"+want) {
			t.Fatalf("run %d: standard error %q, want a summary line starting with %q", run, errOut, want)
		}
		var res wrapper.UploadResult
		dec := json.NewDecoder(bytes.NewReader(out.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&res); err != nil {
			t.Fatalf("run %d: stdout is not UploadResult JSON: %v\n%s", run, err, out)
		}
		if len(res.Uploaded)+len(res.Rejected) != 30 || len(res.Uploaded) != res.Stats.Uploaded || len(res.Rejected) != res.Stats.Rejected || res.Failed == nil {
			t.Fatalf("run %d: %d uploaded, %d rejected, failed %v; stats %+v", run, len(res.Uploaded), len(res.Rejected), res.Failed, res.Stats)
		}
		// The same document as WriteJSON of the result with its lists.
		var again bytes.Buffer
		if err := cmdutil.WriteJSON(&again, &res); err != nil {
			t.Fatal(err)
		}
		if again.String() != out.String() {
			t.Fatalf("run %d: spooled JSON differs from WriteJSON's:\n%s\n---\n%s", run, out, again.String())
		}
		if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) != 0 {
			t.Fatalf("run %d left %v in the temporary folder", run, left)
		}
	}

	// An explicitly named non-media file is counted apart from duplicates,
	// and a failure is listed on standard error and in the JSON.
	missing := filepath.Join(dir, "gone.jpg")
	ios, _, out, errOut := iostreams.Test()
	opts := &Options{IO: ios, Factory: &cmdutil.Factory{}, Paths: []string{notes, missing}, JSON: true, NoCache: true, Concurrency: 1}
	var ee *cmdutil.ExitError
	if err := uploadOnce(context.Background(), c, opts); !errors.As(err, &ee) || ee.Code != cmdutil.ExitPartial {
		t.Fatalf("a failed file: err %v, want exit code %d", err, cmdutil.ExitPartial)
	}
	if !strings.Contains(errOut.String(), "1 unsupported, 1 failed") || !strings.Contains(errOut.String(), "failed: "+missing) {
		t.Fatalf("summary %q", errOut)
	}
	var res wrapper.UploadResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || len(res.Failed) != 1 || len(res.Rejected) != 1 || res.Rejected[0].Reason != wrapper.RejectUnsupportedFormat {
		t.Fatalf("JSON %v: %s", err, out)
	}
}

// printSummary, for a result whose lists are filled, writes what
// uploadOnce writes from the outcomes it counted.
func TestPrintSummaryOfListsMatchesCounted(t *testing.T) {
	id := "9e6ccea5-d47e-4ac5-8b31-e770d24ce57a"
	res := &wrapper.UploadResult{
		Rejected: []wrapper.RejectedFile{{Filepath: "a.jpg", AssetID: &id, Reason: wrapper.RejectDuplicate}, {Filepath: "b.txt", Reason: wrapper.RejectUnsupportedFormat}},
		Stats:    wrapper.UploadStats{Total: 2 + maxListed + 3, Rejected: 2, Failed: maxListed + 3},
	}
	counted, _ := newOutcomes(false)
	for _, r := range res.Rejected {
		counted.add(wrapper.FileOutcome{Path: r.Filepath, Status: wrapper.FileRejected, Reason: r.Reason})
	}
	for i := range maxListed + 3 {
		err := fmt.Errorf("boom %d", i)
		res.Failed = append(res.Failed, wrapper.FailedFile{Filepath: fmt.Sprintf("f%d.jpg", i), Error: err.Error(), Err: err})
		counted.add(wrapper.FileOutcome{Path: fmt.Sprintf("f%d.jpg", i), Status: wrapper.FileFailed, Err: err})
	}
	ios, _, _, fromLists := iostreams.Test()
	printSummary(&Options{IO: ios}, res, false)
	ios2, _, _, fromCounts := iostreams.Test()
	printCounted(&Options{IO: ios2}, res, counted, false)
	if fromLists.String() != fromCounts.String() {
		t.Fatalf("from the lists:\n%s\nfrom the counts:\n%s", fromLists, fromCounts)
	}
	if !strings.Contains(fromLists.String(), "1 already on the server, 1 unsupported, 23 failed") || !strings.Contains(fromLists.String(), "and 3 more failures") {
		t.Fatalf("summary %q", fromLists)
	}
}
