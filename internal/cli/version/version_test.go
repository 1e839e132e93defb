package version

import (
	"regexp"
	"runtime/debug"
	"testing"

	"github.com/goimmich/goimmich/internal/cli/cmdutil"
	"github.com/goimmich/goimmich/internal/cli/iostreams"
)

func TestResolve(t *testing.T) {
	const sha = "d944b82c902662d5fc7b00581caa27304de8733a"
	vcs := func(modified string) *debug.BuildInfo {
		return &debug.BuildInfo{
			Main: debug.Module{Path: "github.com/goimmich/goimmich", Version: "(devel)"},
			Settings: []debug.BuildSetting{
				{Key: "vcs", Value: "git"},
				{Key: "vcs.revision", Value: sha},
				{Key: "vcs.time", Value: "2026-12-03T08:21:28Z"},
				{Key: "vcs.modified", Value: modified},
			},
		}
	}
	goInstall := &debug.BuildInfo{Main: debug.Module{Path: "github.com/goimmich/goimmich", Version: "v1.4.0"}}
	for _, tc := range []struct {
		name                  string
		release, commit, date string
		bi                    *debug.BuildInfo
		want                  Info
	}{
		{"release build: ldflags win", "v1.4.0", "0123abc", "2026-12-01T10:00:00Z", vcs("false"),
			Info{Release: "v1.4.0", Commit: "0123abc", Date: "2026-12-01T10:00:00Z"}},
		{"release build without build info", "v1.4.0", "0123abc", "2026-12-01T10:00:00Z", nil,
			Info{Release: "v1.4.0", Commit: "0123abc", Date: "2026-12-01T10:00:00Z"}},
		{"go install pkg@version", "dev", "", "", goInstall,
			Info{Release: "v1.4.0"}},
		{"go build in a clone", "dev", "", "", vcs("false"),
			Info{Release: "dev-d944b82c9026", Commit: sha, Date: "2026-12-03T08:21:28Z"}},
		{"go build with local changes", "dev", "", "", vcs("true"),
			Info{Release: "dev-d944b82c9026-dirty", Commit: sha, Date: "2026-12-03T08:21:28Z", Modified: true}},
		{"go build in a clone, stamped pseudo-version", "", "", "", func() *debug.BuildInfo {
			bi := vcs("false")
			bi.Main.Version = "v0.0.0-20261203082128-d944b82c9026"
			return bi
		}(), Info{Release: "v0.0.0-20261203082128-d944b82c9026", Commit: sha, Date: "2026-12-03T08:21:28Z"}},
		{"nothing known", "", "", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}},
			Info{Release: "dev"}},
		{"no build info at all", "dev", "", "", nil, Info{Release: "dev"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := resolve(tc.release, tc.commit, tc.date, tc.bi); got != tc.want {
				t.Fatalf("resolve = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestVersionCommand(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	cmd := NewCmdVersion(&cmdutil.Factory{IOStreams: ios, Version: "v1.4.0"}, nil)
	cmd.SetArgs(nil)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	// A test binary carries neither the release build's commit nor VCS
	// information.
	want := regexp.MustCompile(`^goimmich v1\.4\.0\ncommit unknown\ndate unknown\ngo1\.\S+ \w+/\w+\nImmich API \d+\.\d+\.\d+ \(pinned OpenAPI spec\)\n$`)
	if !want.MatchString(out.String()) {
		t.Fatalf("version printed:\n%s", out)
	}
}
