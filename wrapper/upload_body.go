package wrapper

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/goimmich/goimmich/api"
)

// uploadBody is a multipart/form-data body whose bytes come from small
// pre-built header segments and the files themselves, so its length is
// known without reading the files, and only a few KiB live in memory.
type uploadBody struct {
	boundary        string
	head, mid, tail []byte // before the file, between file and sidecar, after
	path, sidecar   string
	size, sideSize  int64
	onRead          func(int)
}

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

// newUploadBody lays out the fields (in the official CLI's order: fields,
// then assetData, then sidecarData).
func newUploadBody(f *scannedFile, form uploadForm, onRead func(int)) (*uploadBody, error) {
	var buf bytes.Buffer
	buf.Grow(512) // fields and one part header: no regrowth for common names
	mw := multipart.NewWriter(&buf)
	base := filepath.Base(f.path)
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
		if err := mw.WriteField(kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	b := &uploadBody{boundary: mw.Boundary(), path: f.path, size: f.size(), sidecar: f.sidecar, sideSize: f.sidecarSize, onRead: onRead}
	if _, err := mw.CreatePart(fileHeader("assetData", base)); err != nil {
		return nil, err
	}
	b.head = bytes.Clone(buf.Bytes())
	buf.Reset()
	if f.sidecar != "" {
		if _, err := mw.CreatePart(fileHeader("sidecarData", filepath.Base(f.sidecar))); err != nil {
			return nil, err
		}
		b.mid = bytes.Clone(buf.Bytes())
		buf.Reset()
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	b.tail = bytes.Clone(buf.Bytes())
	return b, nil
}

// headerEscaper percent-encodes what would end a quoted header value
// (built once: building a Replacer allocates ~9 KB, per file otherwise).
var headerEscaper = strings.NewReplacer(`"`, "%22", "\r", "%0D", "\n", "%0A")

// fileHeader is a part header for a file, with the name escaped the way
// browsers do (", CR and LF percent-encoded) so odd names cannot break the
// header.
func fileHeader(field, name string) textproto.MIMEHeader {
	esc := headerEscaper.Replace(name)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, field, esc))
	ct := mime.TypeByExtension(strings.ToLower(filepath.Ext(name)))
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	return h
}

func (b *uploadBody) contentType() string { return "multipart/form-data; boundary=" + b.boundary }

// length is the exact byte count of the body: the multipart framing plus
// the file sizes.
func (b *uploadBody) length() int64 {
	n := int64(len(b.head)+len(b.tail)) + b.size
	if b.sidecar != "" {
		n += int64(len(b.mid)) + b.sideSize
	}
	return n
}

// open returns a fresh reader of the whole body (it is also the request's
// GetBody, for retries). The files are opened now and closed by Close.
func (b *uploadBody) open() (io.ReadCloser, error) {
	f, err := os.Open(b.path)
	if err != nil {
		return nil, err
	}
	mr := &multiReadCloser{closers: []io.Closer{f}}
	readers := []io.Reader{bytes.NewReader(b.head), &exactReader{r: f, left: b.size, name: b.path, onRead: b.onRead}}
	if b.sidecar != "" {
		sf, err := os.Open(b.sidecar)
		if err != nil {
			f.Close()
			return nil, err
		}
		mr.closers = append(mr.closers, sf)
		readers = append(readers, bytes.NewReader(b.mid), &exactReader{r: sf, left: b.sideSize, name: b.sidecar})
	}
	readers = append(readers, bytes.NewReader(b.tail))
	mr.Reader = io.MultiReader(readers...)
	return mr, nil
}

type multiReadCloser struct {
	io.Reader
	closers []io.Closer
}

func (m *multiReadCloser) Close() error {
	var errs []error
	for _, c := range m.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// exactReader reads exactly left bytes of r: a file that shrank since it
// was scanned is an error instead of a short body.
type exactReader struct {
	r      io.Reader
	left   int64
	name   string
	onRead func(int)
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if n > 0 && e.onRead != nil {
		e.onRead(n)
	}
	if err == io.EOF && e.left > 0 {
		return n, fmt.Errorf("%s shrank while being uploaded: %w", e.name, io.ErrUnexpectedEOF)
	}
	if err == io.EOF {
		err = nil
	}
	return n, err
}
