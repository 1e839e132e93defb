// Package config finds the Immich server URL and API key for a command run,
// and stores them for "goimmich login".
//
// Resolution order, first complete answer wins:
//  1. the --url/--key flags;
//  2. the environment: IMMICH_INSTANCE_URL and IMMICH_API_KEY (the official
//     CLI's names);
//  3. our config file, config.yml in os.UserConfigDir()/goimmich (a named
//     profile, "default" unless --profile or GOIMMICH_PROFILE says otherwise);
//  4. the official Immich CLI's auth.yml, in $IMMICH_CONFIG_DIR or
//     ~/.config/immich, so its users switch with no step.
//
// A flag or variable may give only the URL or only the key; the other half
// then comes from the next source that has it. Files holding keys are
// written with mode 0600 (directories 0700), atomically (temporary file and
// rename), and keys never appear in errors.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Environment variable names.
const (
	EnvURL       = "IMMICH_INSTANCE_URL"
	EnvKey       = "IMMICH_API_KEY"
	EnvConfigDir = "IMMICH_CONFIG_DIR" // the official CLI's config folder
	EnvProfile   = "GOIMMICH_PROFILE"
	// EnvOurConfigDir overrides the folder of our config file.
	EnvOurConfigDir = "GOIMMICH_CONFIG_DIR"
)

// DefaultProfile is the profile used when none is named.
const DefaultProfile = "default"

// ErrNoCredentials means no source gave both a URL and a key.
var ErrNoCredentials = errors.New("no Immich server configured")

// Credentials are a server URL and an API key, and where they came from.
type Credentials struct {
	URL string
	Key string
	// Source says where they came from, for messages: "flags",
	// "environment", a file path, or a mix ("--url flag + /x/config.yml").
	Source string
	// Files lists the config files they came from, if any.
	Files []string
}

// String describes the credentials without the key.
func (c Credentials) String() string {
	return fmt.Sprintf("%s (from %s)", c.URL, c.Source)
}

// GoString is String, so that %#v does not print the key either.
func (c Credentials) GoString() string { return c.String() }

// Profile is one named server in our config file.
type Profile struct {
	URL string `yaml:"url"`
	Key string `yaml:"key"`
}

// File is the content of our config file.
type File struct {
	// Current is the profile used when none is named.
	Current  string             `yaml:"current,omitempty"`
	Profiles map[string]Profile `yaml:"profiles"`
}

// Paths says where the config files are.
type Paths struct {
	// Ours is our config file (…/goimmich/config.yml).
	Ours string
	// Official is the official CLI's auth.yml.
	Official string
	// HashCache is upload's cache of file checksums
	// (os.UserCacheDir()/goimmich/hashes.db).
	HashCache string
}

// DefaultPaths returns the config file locations for the given environment
// lookup (os.Getenv in production). Our file lives in
// $GOIMMICH_CONFIG_DIR, else os.UserConfigDir()/goimmich; the official
// auth.yml in $IMMICH_CONFIG_DIR, else ~/.config/immich (the official CLI
// does not follow XDG_CONFIG_HOME).
func DefaultPaths(getenv func(string) string) (Paths, error) {
	var p Paths
	ours := getenv(EnvOurConfigDir)
	if ours == "" {
		dir, err := userConfigDir(getenv)
		if err != nil {
			return p, fmt.Errorf("finding the user config folder: %w; set %s", err, EnvOurConfigDir)
		}
		ours = filepath.Join(dir, "goimmich")
	}
	p.Ours = filepath.Join(ours, "config.yml")
	official := getenv(EnvConfigDir)
	if official == "" {
		home := getenv("HOME")
		if home == "" {
			h, err := os.UserHomeDir()
			if err == nil {
				home = h
			}
		}
		if home != "" {
			official = filepath.Join(home, ".config", "immich")
		}
	}
	if official != "" {
		p.Official = filepath.Join(official, "auth.yml")
	}
	if cache, err := userCacheDir(getenv); err == nil {
		p.HashCache = filepath.Join(cache, "goimmich", "hashes.db")
	}
	return p, nil
}

// userCacheDir is os.UserCacheDir, reading XDG_CACHE_HOME and HOME through
// getenv on Unix systems other than macOS.
func userCacheDir(getenv func(string) string) (string, error) {
	return xdgDir(getenv, "XDG_CACHE_HOME", ".cache", os.UserCacheDir)
}

// userConfigDir is os.UserConfigDir; on Unix systems other than macOS it
// reads XDG_CONFIG_HOME and HOME through getenv, so tests can point it
// elsewhere.
func userConfigDir(getenv func(string) string) (string, error) {
	return xdgDir(getenv, "XDG_CONFIG_HOME", ".config", os.UserConfigDir)
}

// xdgDir is osDir, except on Unix systems other than macOS, where it is the
// absolute folder in the variable xdg, else homeSub in HOME, both read
// through getenv.
func xdgDir(getenv func(string) string, xdg, homeSub string, osDir func() (string, error)) (string, error) {
	switch runtime.GOOS {
	case "darwin", "ios", "windows", "plan9":
		return osDir()
	}
	if x := getenv(xdg); x != "" && filepath.IsAbs(x) {
		return x, nil
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, homeSub), nil
	}
	return osDir()
}

// Request is what the command line gave for one resolution.
type Request struct {
	FlagURL, FlagKey string
	Profile          string // from --profile; empty means env or Current or "default"
	Getenv           func(string) string
	Paths            Paths
}

// Resolve finds the credentials for req in the order of the package doc.
// It returns an error wrapping ErrNoCredentials, naming the remedy, when no
// source gives both; and an error naming the file when a config file exists
// but cannot be read or parsed.
func Resolve(req Request) (Credentials, error) {
	var c Credentials
	var sources []string
	take := func(url, key, source string) {
		used := false
		if c.URL == "" && url != "" {
			c.URL, used = url, true
		}
		if c.Key == "" && key != "" {
			c.Key, used = key, true
		}
		if used {
			sources = append(sources, source)
		}
	}
	take(req.FlagURL, req.FlagKey, "flags")
	getenv := req.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	take(getenv(EnvURL), getenv(EnvKey), "environment")
	done := func() (Credentials, error) {
		c.Source = joinSources(sources)
		return c, nil
	}
	if c.URL != "" && c.Key != "" {
		return done()
	}
	profile := req.Profile
	if profile == "" {
		profile = getenv(EnvProfile)
	}
	if req.Paths.Ours != "" {
		f, err := Load(req.Paths.Ours)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return c, err
		default:
			name := profile
			if name == "" {
				name = f.Current
			}
			if name == "" {
				name = DefaultProfile
			}
			p, ok := f.Profiles[name]
			if !ok && profile != "" {
				return c, fmt.Errorf("profile %q not found in %s (it has: %s); run \"goimmich login --profile %s URL KEY\"", name, req.Paths.Ours, f.profileNames(), name)
			}
			if ok {
				take(p.URL, p.Key, req.Paths.Ours)
				c.Files = append(c.Files, req.Paths.Ours)
				if c.URL != "" && c.Key != "" {
					return done()
				}
			}
		}
	}
	if req.Paths.Official != "" && profile == "" {
		url, key, err := LoadOfficial(req.Paths.Official)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return c, err
		default:
			take(url, key, req.Paths.Official)
			c.Files = append(c.Files, req.Paths.Official)
		}
	}
	if c.URL != "" && c.Key != "" {
		return done()
	}
	missing := "server URL and API key"
	switch {
	case c.URL != "":
		missing = "API key"
	case c.Key != "":
		missing = "server URL"
	}
	return c, fmt.Errorf("%w: missing the %s; run \"goimmich login URL KEY\", or pass --url and --key, or set %s and %s", ErrNoCredentials, missing, EnvURL, EnvKey)
}

func joinSources(s []string) string {
	return strings.Join(s, " + ")
}

func (f *File) profileNames() string {
	names := make([]string, 0, len(f.Profiles))
	for n := range f.Profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "no profiles"
	}
	return strings.Join(names, ", ")
}

// Load reads our config file at path. A missing file gives an error
// matching fs.ErrNotExist.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config %s: %w", path, err)
	}
	f := &File{}
	if err := yaml.Unmarshal(data, f); err != nil {
		return nil, fmt.Errorf("config %s is not valid YAML (%v); fix or delete it and run \"goimmich login\" again", path, redactYAMLError(err))
	}
	if f.Profiles == nil {
		f.Profiles = map[string]Profile{}
	}
	return f, nil
}

// LoadOfficial reads the official CLI's auth.yml: {url, key}, or the older
// {instanceUrl, apiKey}. A missing file gives an error matching
// fs.ErrNotExist.
func LoadOfficial(path string) (url, key string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("reading the official CLI's %s: %w", path, err)
	}
	var a struct {
		URL         string `yaml:"url"`
		Key         string `yaml:"key"`
		InstanceURL string `yaml:"instanceUrl"`
		APIKey      string `yaml:"apiKey"`
	}
	if err := yaml.Unmarshal(data, &a); err != nil {
		return "", "", fmt.Errorf("the official CLI's %s is not valid YAML (%v); log in again with \"goimmich login URL KEY\"", path, redactYAMLError(err))
	}
	if a.InstanceURL != "" && a.APIKey != "" {
		return a.InstanceURL, a.APIKey, nil
	}
	return a.URL, a.Key, nil
}

// redactYAMLError keeps the line number of a YAML error but not the text it
// quotes, which may be a key.
func redactYAMLError(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return "unexpected types"
	}
	// yaml.v3 syntax errors look like "yaml: line 3: did not find expected key".
	const prefix = "yaml: line "
	if msg, ok := strings.CutPrefix(err.Error(), prefix); ok {
		if n, _, ok := strings.Cut(msg, ":"); ok {
			return "syntax error at line " + n
		}
	}
	return "syntax error"
}

// Save writes f to path with mode 0600, creating the folder with mode 0700
// when missing. It writes a temporary file in the same folder and renames it,
// so a crash leaves the old file or the new one, never half of one; an
// existing file's mode is tightened to 0600 as well.
func Save(path string, f *File) error {
	data, err := yaml.Marshal(f)
	if err != nil {
		return fmt.Errorf("encoding config: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating config folder: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".config-*.yml")
	if err != nil {
		return fmt.Errorf("writing config: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("writing config: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing config %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing config %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing config %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing config %s: %w", path, err)
	}
	return nil
}

// SetProfile stores url and key as profile name in the config file at path
// (creating it), and makes it the current profile when the file had none.
func SetProfile(path, name, url, key string) error {
	f, err := Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		f, err = &File{Profiles: map[string]Profile{}}, nil
	}
	if err != nil {
		return err
	}
	if name == "" {
		name = DefaultProfile
	}
	f.Profiles[name] = Profile{URL: url, Key: key}
	if f.Current == "" {
		f.Current = name
	}
	return Save(path, f)
}

// RemoveProfile deletes profile name from the config file at path and
// reports whether it was there. The file is removed when no profile is left.
func RemoveProfile(path, name string) (bool, error) {
	f, err := Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if name == "" {
		name = f.Current
	}
	if name == "" {
		name = DefaultProfile
	}
	if _, ok := f.Profiles[name]; !ok {
		return false, nil
	}
	delete(f.Profiles, name)
	if f.Current == name {
		f.Current = ""
	}
	if len(f.Profiles) == 0 {
		if err := os.Remove(path); err != nil {
			return true, fmt.Errorf("removing %s: %w", path, err)
		}
		return true, nil
	}
	return true, Save(path, f)
}
