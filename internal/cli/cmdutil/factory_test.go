package cmdutil

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/goimmich/goimmich/internal/cli/iostreams"
)

// A config file holding the key that others can read gets a warning naming
// the file and the fix; a private one gets none.
func TestWarnsAboutReadableCredentials(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no Unix file modes")
	}
	for _, tt := range []struct {
		mode os.FileMode
		warn bool
	}{{0o644, true}, {0o640, true}, {0o600, false}} {
		home := t.TempDir()
		dir := filepath.Join(home, "immich")
		os.MkdirAll(dir, 0o700)
		auth := filepath.Join(dir, "auth.yml")
		const key = "secret-key-0123456789"
		if err := os.WriteFile(auth, []byte("url: http://nas:2283\nkey: "+key+"\n"), tt.mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(auth, tt.mode) // past the umask
		ios, _, _, errOut := iostreams.Test()
		vars := map[string]string{"HOME": home, "XDG_CONFIG_HOME": home, "IMMICH_CONFIG_DIR": dir}
		f := &Factory{IOStreams: ios, Getenv: func(k string) string { return vars[k] }}
		creds, err := f.Credentials()
		if err != nil || creds.Key != key {
			t.Fatalf("mode %o: %v", tt.mode, err)
		}
		got := errOut.String()
		if tt.warn != strings.Contains(got, "chmod 600 "+auth) {
			t.Fatalf("mode %o: warning %q, want one: %v", tt.mode, got, tt.warn)
		}
		if strings.Contains(got, key) {
			t.Fatalf("the warning shows the key: %s", got)
		}
	}
}
