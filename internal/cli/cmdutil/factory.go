// Package cmdutil holds what every goimmich command shares: the Factory
// (streams, credentials, the Immich client), exit codes, and the login
// check that turns a failure into a message saying what to do.
package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strings"

	"github.com/goimmich/goimmich/api"
	"github.com/goimmich/goimmich/internal/cli/config"
	"github.com/goimmich/goimmich/internal/cli/iostreams"
	"github.com/goimmich/goimmich/wrapper"
)

// Exit codes of the goimmich command, the same as the official CLI's upload.
const (
	ExitOK = 0
	// ExitFailure: the run could not start or failed (bad URL, wrong key,
	// server down, bad flags).
	ExitFailure = 1
	// ExitPartial: the run finished but some items failed.
	ExitPartial = 2
)

// ExitError carries an exit code. Err, when set, is printed by main; a nil
// Err means the command already said everything.
type ExitError struct {
	Code int
	Err  error
}

// Error returns Err's message, or the exit status when Err is nil.
func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

// Unwrap returns Err.
func (e *ExitError) Unwrap() error { return e.Err }

// Factory gives commands what they need without globals. The root command
// fills the credential flags; tests build one with iostreams.Test and their
// own Getenv.
type Factory struct {
	IOStreams *iostreams.IOStreams
	// Getenv looks up environment variables (os.Getenv in production).
	Getenv func(string) string
	// Version is goimmich's version string.
	Version string

	// FlagURL, FlagKey and Profile are the global --url, --key and
	// --profile flags.
	FlagURL, FlagKey, Profile string
	// ConfigDirectory is the global --config-directory flag: the official
	// CLI's folder of auth.yml (IMMICH_CONFIG_DIR otherwise).
	ConfigDirectory string

	// HTTPClient, when set, is used by every Client (tests).
	HTTPClient *http.Client
	// Retry, when set, replaces the wrapper's default retry policy.
	Retry *wrapper.RetryPolicy
}

// New returns the production Factory: system streams and environment.
func New(version string) *Factory {
	return &Factory{IOStreams: iostreams.System(), Getenv: os.Getenv, Version: version}
}

// ConfigPaths returns where the config files are for this Factory's
// environment.
func (f *Factory) ConfigPaths() (config.Paths, error) {
	return config.DefaultPaths(func(k string) string {
		if k == config.EnvConfigDir && f.ConfigDirectory != "" {
			return f.ConfigDirectory
		}
		return f.getenv(k)
	})
}

func (f *Factory) getenv(k string) string {
	if f.Getenv == nil {
		return os.Getenv(k)
	}
	return f.Getenv(k)
}

// warnings is a logger printing the library's warnings (never secrets) on
// standard error, without timestamps.
func (f *Factory) warnings() *slog.Logger {
	return slog.New(slog.NewTextHandler(f.IOStreams.ErrOut, &slog.HandlerOptions{
		Level: slog.LevelWarn,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// Credentials resolves the server URL and API key (see package config for
// the order).
func (f *Factory) Credentials() (config.Credentials, error) {
	paths, err := f.ConfigPaths()
	if err != nil {
		return config.Credentials{}, err
	}
	creds, err := config.Resolve(config.Request{FlagURL: f.FlagURL, FlagKey: f.FlagKey, Profile: f.Profile, Getenv: f.getenv, Paths: paths})
	if err == nil {
		f.warnReadableFiles(creds.Files)
	}
	return creds, err
}

// warnReadableFiles warns, on standard error, about each config file that
// holds the key and that other users of the computer may read.
func (f *Factory) warnReadableFiles(files []string) {
	if runtime.GOOS == "windows" {
		return // no Unix modes; ACLs decide
	}
	for _, name := range files {
		fi, err := os.Stat(name)
		if err != nil || fi.Mode().Perm()&0o077 == 0 {
			continue
		}
		fmt.Fprintf(f.IOStreams.ErrOut, "Warning: %s holds your API key and other users of this computer can read it (mode %04o); run: chmod 600 %s\n",
			name, fi.Mode().Perm(), name)
	}
}

// NewClient returns a client for url and key with this Factory's HTTP
// client and retry policy.
func (f *Factory) NewClient(url, key string, opts ...wrapper.Option) (*wrapper.Client, error) {
	return f.newClient(url, append([]wrapper.Option{wrapper.WithAPIKey(key)}, opts...)...)
}

// NewClientWithoutKey returns a client for url that sends no credentials,
// for Immich's public operations (pingServer, getServerVersion, ...).
func (f *Factory) NewClientWithoutKey(url string) (*wrapper.Client, error) {
	return f.newClient(url)
}

// newClient returns a client for url with this Factory's user agent,
// logger, HTTP client and retry policy, then opts.
func (f *Factory) newClient(url string, opts ...wrapper.Option) (*wrapper.Client, error) {
	all := []wrapper.Option{wrapper.WithUserAgent("goimmich-cli/" + f.Version), wrapper.WithLogger(f.warnings())}
	if f.HTTPClient != nil {
		all = append(all, wrapper.WithHTTPClient(f.HTTPClient))
	}
	if f.Retry != nil {
		all = append(all, wrapper.WithRetry(*f.Retry))
	}
	c, err := wrapper.New(url, append(all, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("%w; check --url, %s or \"goimmich login\"", err, config.EnvURL)
	}
	return c, nil
}

// Client resolves the credentials and returns a client, without talking to
// the server.
func (f *Factory) Client() (*wrapper.Client, config.Credentials, error) {
	creds, err := f.Credentials()
	if err != nil {
		return nil, creds, err
	}
	c, err := f.NewClient(creds.URL, creds.Key)
	return c, creds, err
}

// Connect resolves the credentials, returns the one client of the command
// and checks, as the official CLI does, that the server answers GET
// /users/me with this key (see CheckLogin). The user is returned with it.
func (f *Factory) Connect(ctx context.Context) (*wrapper.Client, *api.UserAdminResponseDto, error) {
	c, creds, err := f.Client()
	if err != nil {
		return nil, nil, err
	}
	me, err := CheckLogin(ctx, c)
	if err != nil {
		c.CloseIdleConnections()
		return nil, nil, fmt.Errorf("%w (credentials from %s)", err, creds.Source)
	}
	return c, me, nil
}

// CheckLogin asks the server who owns c's key (c.Me: GET /users/me, once
// per Client, so a later Upload with c does not ask again) and explains any
// failure: a server that is down, a wrong URL, a non-Immich server or a
// wrong key give an error that names the cause and the remedy and never
// holds the key. The request follows c's RetryPolicy like any other (a 429
// or a restarting server is retried; a server that never answered is
// reported at once).
func CheckLogin(ctx context.Context, c *wrapper.Client) (*api.UserAdminResponseDto, error) {
	me, err := c.Me(ctx)
	var ce *wrapper.ConnectionError
	switch {
	case err == nil:
		return &me, nil
	case errors.As(err, &ce), ctx.Err() != nil:
		return nil, err
	case errors.Is(err, wrapper.ErrUnauthorized):
		return nil, fmt.Errorf("wrong API key for %s: %w; create one in Immich under Account Settings > API Keys and run \"goimmich login URL KEY\"", c.ServerURL(), err)
	case errors.Is(err, wrapper.ErrNotImmich), errors.Is(err, wrapper.ErrNotFound):
		return nil, fmt.Errorf("%s does not look like an Immich server; check the URL (it should be the address you open Immich at, e.g. http://nas:2283): %w", c.ServerURL(), err)
	}
	return nil, fmt.Errorf("checking the login at %s: %w", c.ServerURL(), err)
}

// Redact replaces every occurrence of the keys known to this run (flag and
// environment) in s, as a last line of defence: errors are built not to hold
// keys in the first place.
func (f *Factory) Redact(s string) string {
	for _, k := range []string{f.FlagKey, f.getenv(config.EnvKey)} {
		if len(k) >= 4 {
			s = strings.ReplaceAll(s, k, "[redacted]")
		}
	}
	return s
}

// FlagError is a usage mistake (missing or malformed flag); main prints it
// with a pointer to --help.
type FlagError struct{ Err error }

// Error returns Err's message.
func (e *FlagError) Error() string { return e.Err.Error() }

// Unwrap returns Err.
func (e *FlagError) Unwrap() error { return e.Err }

// FlagErrorf returns a *FlagError formatted as fmt.Errorf.
func FlagErrorf(format string, args ...any) error {
	return &FlagError{Err: fmt.Errorf(format, args...)}
}
