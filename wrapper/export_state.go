package wrapper

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"time"
)

const (
	// exportMetaDir holds the state file and the staging folder.
	exportMetaDir = ".goimmich-export"
	// exportTrashDir receives files of assets gone from the server.
	exportTrashDir = ".trash"
	// exportStateVersion is the format of the state file.
	exportStateVersion = 1
)

var (
	exportStatePath = path.Join(exportMetaDir, "state.json")
	exportStaging   = path.Join(exportMetaDir, "staging")
)

// exportState is the state file: what the folder holds, by asset id.
type exportState struct {
	Version int `json:"version"`
	// Server is the /api URL the folder was exported from.
	Server string                       `json:"server"`
	Assets map[string]*exportStateEntry `json:"assets"`
}

// exportStateEntry is one asset's file in the folder.
type exportStateEntry struct {
	Checksum string `json:"checksum"`
	Path     string `json:"path"` // slash-separated, relative to the folder
	Size     int64  `json:"size"`
	// UpdatedAt is the asset's updatedAt when its sidecar was written.
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
	Sidecar   string    `json:"sidecar,omitempty"`
	// MotionOf is the still whose live photo this motion part is.
	MotionOf string `json:"motionOf,omitempty"`
}

// loadExportState reads the state file; a folder without one starts empty.
// A state file that does not parse is an error: guessing could trash or
// duplicate a whole library.
func loadExportState(root *os.Root, dir string) (*exportState, error) {
	st := &exportState{Version: exportStateVersion, Assets: map[string]*exportStateEntry{}}
	b, err := root.ReadFile(exportStatePath)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the export state %s: %w", path.Join(dir, exportStatePath), err)
	}
	if err := json.Unmarshal(b, st); err != nil || st.Version != exportStateVersion {
		if err == nil {
			err = fmt.Errorf("format version %d, this goimmich reads %d", st.Version, exportStateVersion)
		}
		return nil, fmt.Errorf("the export state %s is unreadable (%v); move it away to start over: files already there with the server's bytes are kept, not fetched again",
			path.Join(dir, exportStatePath), err)
	}
	if st.Assets == nil {
		st.Assets = map[string]*exportStateEntry{}
	}
	return st, nil
}

// save writes the state crash-safely: a temporary file, synced, renamed over
// the old one, and the folder synced, so a crash leaves the old state or the
// new one, never a mix.
func (st *exportState) save(root *os.Root) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := writeSynced(root, exportStatePath, b); err != nil {
		return fmt.Errorf("saving the export state: %w", err)
	}
	if meta, err := root.OpenRoot(exportMetaDir); err == nil {
		syncDir(meta)
		meta.Close()
	}
	return nil
}
