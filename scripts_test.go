package goimmich_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// copyTree copies the files of this work tree that git knows (tracked, or
// untracked and not ignored) to a new git repository in a temp folder.
func copyTree(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	dst := t.TempDir()
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		data, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		info, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(dst, f)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, data, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	run(t, dst, nil, "git", "init", "-q")
	run(t, dst, nil, "git", "add", "-A")
	return dst
}

func run(t *testing.T, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.String(), err
}

// TestFetchSpecChecksHash runs scripts/fetch-spec.sh on a spec folder whose
// file does not match the pinned sha256, then on one that does.
func TestFetchSpecChecksHash(t *testing.T) {
	repo := t.TempDir()
	for _, f := range []string{"scripts/fetch-spec.sh", "openapi/IMMICH_VERSION"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(repo, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, f), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	version, _ := os.ReadFile("openapi/IMMICH_VERSION")
	name := "immich-openapi-specs-" + strings.TrimSpace(string(version)) + ".json"
	specDir := t.TempDir()
	spec := []byte(`{"openapi":"3.0.0","info":{"title":"Immich","version":"x"},"paths":{}}`)
	if err := os.WriteFile(filepath.Join(specDir, name), spec, 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"IMMICH_SPEC_DIR=" + specDir}
	pinned := filepath.Join(repo, "openapi/IMMICH_SPEC_SHA256")

	// Wrong hash: refused, with what to do, and nothing left for go generate.
	if err := os.WriteFile(pinned, []byte(strings.Repeat("ab", 32)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, repo, env, "bash", "scripts/fetch-spec.sh")
	if err == nil {
		t.Fatalf("fetch-spec accepted a spec with the wrong sha256:\n%s", out)
	}
	for _, want := range []string{"sha256 mismatch", name, "fetch it again", "update-immich.sh"} {
		if !strings.Contains(out, want) {
			t.Errorf("fetch-spec's error lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(repo, ".spec/immich-openapi-specs.json")); !os.IsNotExist(err) {
		t.Errorf("a rejected spec was put where go generate reads it (stat: %v)", err)
	}

	// Right hash: accepted and placed.
	sum := sha256.Sum256(spec)
	if err := os.WriteFile(pinned, []byte(hex.EncodeToString(sum[:])+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = run(t, repo, env, "bash", "scripts/fetch-spec.sh")
	if err != nil {
		t.Fatalf("fetch-spec refused the right spec: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(repo, ".spec/immich-openapi-specs.json"))
	if err != nil || !bytes.Equal(got, spec) {
		t.Errorf("fetched spec = %q, %v; want the source file", got, err)
	}

	// A missing file says where it looked (with no copy cached from before).
	if err := os.RemoveAll(filepath.Join(repo, ".spec")); err != nil {
		t.Fatal(err)
	}
	out, err = run(t, repo, []string{"IMMICH_SPEC_DIR=" + t.TempDir()}, "bash", "scripts/fetch-spec.sh")
	if err == nil || !strings.Contains(out, "does not exist") || !strings.Contains(out, "IMMICH_SPEC_DIR") {
		t.Errorf("missing spec: err %v, output:\n%s", err, out)
	}
}

// TestCheckDriftNamesEditedFile appends a line to a generated file in a copy
// of the work tree and expects scripts/check-drift.sh to fail and name it;
// the untouched copy must pass. It needs the real spec of the pinned release
// from IMMICH_SPEC_DIR (CI sets it).
func TestCheckDriftNamesEditedFile(t *testing.T) {
	specDir := os.Getenv("IMMICH_SPEC_DIR")
	if specDir == "" {
		t.Skip("IMMICH_SPEC_DIR is not set; .ci/run sets it to ../shared/openapi")
	}
	specDir, err := filepath.Abs(specDir)
	if err != nil {
		t.Fatal(err)
	}
	if testing.Short() {
		t.Skip("regenerates the client twice; skipped in -short")
	}
	repo := copyTree(t)
	env := []string{"IMMICH_SPEC_DIR=" + specDir}
	if out, err := run(t, repo, env, "bash", "scripts/check-drift.sh"); err != nil {
		t.Fatalf("check-drift fails on an untouched tree: %v\n%s", err, out)
	}
	const edited = "api/apispec/spec.gen.go"
	f, err := os.OpenFile(filepath.Join(repo, edited), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString("// a hand edit\n")
	f.Close()
	out, err := run(t, repo, env, "bash", "scripts/check-drift.sh")
	if err == nil {
		t.Fatalf("check-drift passed after a hand edit of %s:\n%s", edited, out)
	}
	if !strings.Contains(out, edited+": differs") {
		t.Errorf("check-drift did not name %s:\n%s", edited, out)
	}
}

// TestRegenMatrixSkipsOtherMajors runs scripts/regen-matrix.sh on a spec
// folder holding a 2.x release and the pinned one, with --skip-pinned: both
// are skipped, the 2.x one with the reason, and nothing is generated.
func TestRegenMatrixSkipsOtherMajors(t *testing.T) {
	version, err := os.ReadFile("openapi/IMMICH_VERSION")
	if err != nil {
		t.Fatal(err)
	}
	pinned := strings.TrimSpace(string(version))
	specDir := t.TempDir()
	for _, v := range []string{"2.7.3", pinned} {
		if err := os.WriteFile(filepath.Join(specDir, "immich-openapi-specs-"+v+".json"), []byte(`{"openapi":"3.0.0"}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := run(t, ".", []string{"IMMICH_SPEC_DIR=" + specDir}, "bash", "scripts/regen-matrix.sh", "--skip-pinned")
	if err != nil {
		t.Fatalf("regen-matrix failed: %v\n%s", err, out)
	}
	for _, want := range []string{
		"2.7.3: skipped: not generated from, by design",
		"COMPATIBILITY.md",
		pinned + ": skipped: the pinned release",
		"passed: none; skipped: 2.7.3 " + pinned + "; failed: none",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// With neither a spec folder nor releases, it says what to give it.
	out, err = run(t, ".", []string{"IMMICH_SPEC_DIR="}, "bash", "scripts/regen-matrix.sh")
	if err == nil || !strings.Contains(out, "set IMMICH_SPEC_DIR") {
		t.Errorf("no specs: err %v, output:\n%s", err, out)
	}
}

// TestRegenMatrixNamesFailingRelease gives scripts/regen-matrix.sh a release
// of the pinned major whose spec has no operations and no models, so it
// cannot be generated from (the overlay's targets are missing) nor built
// against: the script must fail and name that release, and leave this work
// tree as it was.
func TestRegenMatrixNamesFailingRelease(t *testing.T) {
	realSpecs := os.Getenv("IMMICH_SPEC_DIR")
	if realSpecs == "" {
		t.Skip("IMMICH_SPEC_DIR is not set; .ci/run sets it to ../shared/openapi")
	}
	if testing.Short() {
		t.Skip("regenerates the client; skipped in -short")
	}
	version, err := os.ReadFile("openapi/IMMICH_VERSION")
	if err != nil {
		t.Fatal(err)
	}
	pinned := strings.TrimSpace(string(version))
	major, _, _ := strings.Cut(pinned, ".")
	bad := major + ".99.0"
	specDir := t.TempDir()
	// update-immich.sh reads the pinned spec too, for its summary.
	spec, err := os.ReadFile(filepath.Join(realSpecs, "immich-openapi-specs-"+pinned+".json"))
	if err != nil {
		t.Fatal(err)
	}
	empty := `{"openapi":"3.0.0","info":{"title":"Immich","version":"` + bad + `"},"paths":{},"components":{"schemas":{}}}`
	for name, data := range map[string][]byte{pinned: spec, bad: []byte(empty)} {
		if err := os.WriteFile(filepath.Join(specDir, "immich-openapi-specs-"+name+".json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := run(t, ".", nil, "git", "status", "--porcelain")
	out, err := run(t, ".", []string{"IMMICH_SPEC_DIR=" + specDir}, "bash", "scripts/regen-matrix.sh", bad)
	if err == nil {
		t.Fatalf("regen-matrix passed on a release without operations or models:\n%s", out)
	}
	for _, want := range []string{bad + ": FAIL", "failed: " + bad, "never edit api/"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if after, _ := run(t, ".", nil, "git", "status", "--porcelain"); after != before {
		t.Errorf("regen-matrix changed the work tree:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
