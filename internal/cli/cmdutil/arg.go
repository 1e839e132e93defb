package cmdutil

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// ReadArg reads the value of a flag that takes content the way curl's -d
// does: "-" reads standard input (in), "@FILE" the file FILE, anything else
// is the content itself. It returns the bytes and where they came from, for
// messages ("standard input", the file name, or the flag). A file that
// cannot be read is a *FlagError naming the flag.
func ReadArg(in io.Reader, flag, value string) ([]byte, string, error) {
	switch {
	case value == "-":
		raw, err := io.ReadAll(in)
		if err != nil {
			return nil, "", fmt.Errorf("reading %s from standard input: %w", flag, err)
		}
		return raw, "standard input", nil
	case strings.HasPrefix(value, "@"):
		name := value[1:]
		raw, err := os.ReadFile(name)
		if err != nil {
			return nil, "", FlagErrorf("reading the %s file: %v", flag, err)
		}
		return raw, name, nil
	}
	return []byte(value), flag, nil
}
