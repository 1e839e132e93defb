package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const secret = "s3cr3t-key-DO-NOT-PRINT"

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestDefaultPaths(t *testing.T) {
	p, err := DefaultPaths(env(map[string]string{"HOME": "/h", "XDG_CONFIG_HOME": "/x"}))
	if err != nil {
		t.Fatal(err)
	}
	if p.Ours != "/x/goimmich/config.yml" || p.Official != "/h/.config/immich/auth.yml" {
		t.Fatalf("paths = %+v", p)
	}
	p, _ = DefaultPaths(env(map[string]string{"HOME": "/h", EnvConfigDir: "/o", EnvOurConfigDir: "/g"}))
	if p.Ours != "/g/config.yml" || p.Official != "/o/auth.yml" {
		t.Fatalf("paths with overrides = %+v", p)
	}
}

func TestResolveOrder(t *testing.T) {
	dir := t.TempDir()
	paths := Paths{Ours: filepath.Join(dir, "ours", "config.yml"), Official: filepath.Join(dir, "immich", "auth.yml")}
	writeFile(t, paths.Official, "url: http://official:2283/api\nkey: official-key\n")

	// Only the official CLI's file: its users switch with no step.
	c, err := Resolve(Request{Paths: paths, Getenv: env(nil)})
	if err != nil || c.URL != "http://official:2283/api" || c.Key != "official-key" || c.Source != paths.Official {
		t.Fatalf("official only: %+v %v", c, err)
	}
	// Our file wins over the official one.
	if err := SetProfile(paths.Ours, "", "http://ours", "our-key"); err != nil {
		t.Fatal(err)
	}
	c, _ = Resolve(Request{Paths: paths, Getenv: env(nil)})
	if c.URL != "http://ours" || c.Key != "our-key" {
		t.Fatalf("ours: %+v", c)
	}
	// The environment wins over files, and may give one half only.
	c, _ = Resolve(Request{Paths: paths, Getenv: env(map[string]string{EnvURL: "http://env"})})
	if c.URL != "http://env" || c.Key != "our-key" || c.Source != "environment + "+paths.Ours {
		t.Fatalf("env url + file key: %+v", c)
	}
	// Flags win over everything.
	c, _ = Resolve(Request{FlagURL: "http://flag", FlagKey: "flag-key", Paths: paths,
		Getenv: env(map[string]string{EnvURL: "http://env", EnvKey: "env-key"})})
	if c.URL != "http://flag" || c.Key != "flag-key" || c.Source != "flags" {
		t.Fatalf("flags: %+v", c)
	}
	// A named profile.
	if err := SetProfile(paths.Ours, "work", "http://work", "work-key"); err != nil {
		t.Fatal(err)
	}
	c, _ = Resolve(Request{Profile: "work", Paths: paths, Getenv: env(nil)})
	if c.URL != "http://work" {
		t.Fatalf("profile work: %+v", c)
	}
	c, _ = Resolve(Request{Paths: paths, Getenv: env(map[string]string{EnvProfile: "work"})})
	if c.URL != "http://work" {
		t.Fatalf("profile from env: %+v", c)
	}
	_, err = Resolve(Request{Profile: "nope", Paths: paths, Getenv: env(nil)})
	if err == nil || !strings.Contains(err.Error(), `profile "nope" not found`) || !strings.Contains(err.Error(), "default, work") {
		t.Fatalf("missing profile: %v", err)
	}
}

func TestResolveOldOfficialFormat(t *testing.T) {
	dir := t.TempDir()
	p := Paths{Official: filepath.Join(dir, "auth.yml")}
	writeFile(t, p.Official, "instanceUrl: https://old.example/api\napiKey: old-key\n")
	c, err := Resolve(Request{Paths: p, Getenv: env(nil)})
	if err != nil || c.URL != "https://old.example/api" || c.Key != "old-key" {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestResolveNothing(t *testing.T) {
	dir := t.TempDir()
	p := Paths{Ours: filepath.Join(dir, "a", "config.yml"), Official: filepath.Join(dir, "b", "auth.yml")}
	_, err := Resolve(Request{Paths: p, Getenv: env(nil)})
	if !errors.Is(err, ErrNoCredentials) || !strings.Contains(err.Error(), "goimmich login") {
		t.Fatalf("err = %v", err)
	}
	_, err = Resolve(Request{FlagURL: "http://x", Paths: p, Getenv: env(nil)})
	if !errors.Is(err, ErrNoCredentials) || !strings.Contains(err.Error(), "missing the API key") {
		t.Fatalf("err = %v", err)
	}
}

func TestBrokenFilesNameTheFileNotTheKey(t *testing.T) {
	dir := t.TempDir()
	for _, content := range []string{
		"profiles:\n  default:\n    url: http://x\n    key: " + secret + "\n  - oops: [\n",
		"profiles: " + secret + "\n",
	} {
		p := Paths{Ours: filepath.Join(dir, "config.yml")}
		writeFile(t, p.Ours, content)
		_, err := Resolve(Request{Paths: p, Getenv: env(nil)})
		if err == nil || !strings.Contains(err.Error(), p.Ours) {
			t.Fatalf("err = %v, want one naming %s", err, p.Ours)
		}
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("error holds the key: %v", err)
		}
	}
	off := filepath.Join(dir, "auth.yml")
	writeFile(t, off, "url: [http://x\nkey: "+secret+"\n")
	_, err := Resolve(Request{Paths: Paths{Official: off}, Getenv: env(nil)})
	if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), off) {
		t.Fatalf("err = %v", err)
	}
}

func TestSaveIsPrivate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "new", "config.yml")
	if err := SetProfile(path, "default", "http://x", secret); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("config mode %v, want 0600", st.Mode().Perm())
	}
	dst, _ := os.Stat(filepath.Dir(path))
	if dst.Mode().Perm() != 0o700 {
		t.Fatalf("folder mode %v, want 0700", dst.Mode().Perm())
	}
	// A file someone made world-readable becomes private on the next save.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := SetProfile(path, "other", "http://y", "k2"); err != nil {
		t.Fatal(err)
	}
	st, _ = os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("config mode after resave %v, want 0600", st.Mode().Perm())
	}
	f, err := Load(path)
	if err != nil || f.Profiles["default"].Key != secret || f.Profiles["other"].URL != "http://y" || f.Current != "default" {
		t.Fatalf("loaded %+v %v", f, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
}

func TestRemoveProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yml")
	if ok, err := RemoveProfile(path, ""); ok || err != nil {
		t.Fatalf("remove from no file: %v %v", ok, err)
	}
	SetProfile(path, "a", "http://a", "ka")
	SetProfile(path, "b", "http://b", "kb")
	if ok, err := RemoveProfile(path, ""); !ok || err != nil { // the current one, a
		t.Fatalf("remove current: %v %v", ok, err)
	}
	f, _ := Load(path)
	if _, still := f.Profiles["a"]; still || len(f.Profiles) != 1 {
		t.Fatalf("profiles after remove: %+v", f.Profiles)
	}
	if ok, _ := RemoveProfile(path, "b"); !ok {
		t.Fatal("b not removed")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("empty config file not removed")
	}
}

func TestCredentialsStringHidesKey(t *testing.T) {
	c := Credentials{URL: "http://x", Key: secret, Source: "flags"}
	for _, s := range []string{c.String(), c.GoString()} {
		if strings.Contains(s, secret) {
			t.Fatalf("%q holds the key", s)
		}
	}
}
