package wrapper

import (
	"path/filepath"
	"strconv"
	"strings"

	"github.com/goimmich/goimmich/api"
)

// uploadForm is what every upload of a run sends besides the file: the
// fields that depend on the server's release, and the visibility.
type uploadForm struct {
	// deviceFields sends deviceAssetId and deviceId (2.x requires them,
	// 3.x dropped them).
	deviceFields bool
	// duration is sent when not "": 2.x takes "H:MM:SS.ffffff", 3.x
	// integer milliseconds.
	duration   string
	visibility api.AssetVisibility
}

// formFor is the form for a server of release v (zero: unknown). An
// unknown release gets the device fields, which every 2.x requires and 3.x
// ignores today, and no duration, which no release requires.
func formFor(v Version, vis api.AssetVisibility) uploadForm {
	f := uploadForm{visibility: vis}
	switch {
	case v.Major == 0:
		f.deviceFields = true
	case v.Major < 3:
		f.deviceFields, f.duration = true, "0:00:00.000000"
	default:
		f.duration = "0"
	}
	return f
}

// uploadTimeLayout is how fileCreatedAt and fileModifiedAt are sent: UTC
// with its offset ("Z"), as every release accepts and 3.x requires.
const uploadTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// newUploadBody is the body of POST /assets for f, at path: the fields of
// form, then assetData, then sidecarData when side has a path (the
// official CLI's order). onRead is told of each read of the file (not of
// the sidecar).
func newUploadBody(f *scannedFile, path string, side sidecarFile, form uploadForm, onRead func(int)) (*MultipartBody, error) {
	b := NewMultipartBody()
	base := filepath.Base(path)
	ts := f.modTime().UTC().Format(uploadTimeLayout)
	fields := make([][2]string, 0, 6)
	if form.deviceFields {
		fields = append(fields, [2]string{"deviceAssetId", strings.Join(strings.Fields(base), "") + "-" + strconv.FormatInt(f.size(), 10)},
			[2]string{"deviceId", deviceID})
	}
	fields = append(fields, [2]string{"fileCreatedAt", ts}, [2]string{"fileModifiedAt", ts})
	if form.duration != "" {
		fields = append(fields, [2]string{"duration", form.duration})
	}
	if form.visibility != "" {
		fields = append(fields, [2]string{"visibility", string(form.visibility)})
	}
	for _, kv := range fields {
		if err := b.AddField(kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	if err := b.AddFile("assetData", path, f.size(), onRead); err != nil {
		return nil, err
	}
	if side.path != "" {
		if err := b.AddFile("sidecarData", side.path, side.size, nil); err != nil {
			return nil, err
		}
	}
	return b, nil
}
