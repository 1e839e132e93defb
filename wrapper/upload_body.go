package wrapper

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
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
	// boundary separates the parts of every body of the run ("" in a
	// zero form: newUploadBody makes one per body).
	boundary string
}

// formFor is the form for a server of release v (zero: unknown). An
// unknown release gets the device fields, which every 2.x requires and 3.x
// ignores today, and no duration, which no release requires.
func formFor(v Version, vis api.AssetVisibility) uploadForm {
	f := uploadForm{visibility: vis, boundary: multipart.NewWriter(nil).Boundary()}
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
// then assetData, then sidecarData). The framing is written as
// mime/multipart writes it, with the form's boundary (one per run), into
// one buffer: a multipart.Writer per file would cost a fresh random
// boundary, header maps and sorting for each of a million small files.
func newUploadBody(f *scannedFile, form uploadForm, onRead func(int)) (*uploadBody, error) {
	boundary := form.boundary
	if boundary == "" {
		boundary = multipart.NewWriter(nil).Boundary()
	}
	base := filepath.Base(f.path)
	var ts [len(uploadTimeLayout) + 8]byte
	created := f.modTime().UTC().AppendFormat(ts[:0], uploadTimeLayout)
	buf := make([]byte, 0, 640+2*len(base))
	field := func(name string, value ...[]byte) {
		if len(buf) == 0 {
			buf = append(buf, "--"...)
		} else {
			buf = append(buf, "\r\n--"...)
		}
		buf = append(buf, boundary...)
		buf = append(buf, "\r\nContent-Disposition: form-data; name=\""...)
		buf = append(buf, name...)
		buf = append(buf, "\"\r\n\r\n"...)
		for _, v := range value {
			buf = append(buf, v...)
		}
	}
	if form.deviceFields {
		field("deviceAssetId", []byte(strings.Join(strings.Fields(base), "")), []byte("-"), strconv.AppendInt(nil, f.size(), 10))
		field("deviceId", []byte(deviceID))
	}
	field("fileCreatedAt", created)
	field("fileModifiedAt", created)
	if form.duration != "" {
		field("duration", []byte(form.duration))
	}
	if form.visibility != "" {
		field("visibility", []byte(form.visibility))
	}
	b := &uploadBody{boundary: boundary, path: f.path, size: f.size(), onRead: onRead}
	if f.side != nil {
		b.sidecar, b.sideSize = f.side.path, f.side.size
	}
	buf = appendFilePart(buf, boundary, "assetData", base)
	b.head = buf
	if b.sidecar != "" {
		b.mid = appendFilePart(nil, boundary, "sidecarData", filepath.Base(b.sidecar))
	}
	b.tail = []byte("\r\n--" + boundary + "--\r\n")
	return b, nil
}

// appendFilePart appends the header of a file part (never the first part)
// to buf: the name escaped the way browsers do (", CR and LF
// percent-encoded) so odd names cannot break the header, and its media type
// by extension.
func appendFilePart(buf []byte, boundary, field, name string) []byte {
	ct := mime.TypeByExtension(strings.ToLower(filepath.Ext(name)))
	if ct == "" {
		ct = "application/octet-stream"
	}
	buf = append(buf, "\r\n--"...)
	buf = append(buf, boundary...)
	buf = append(buf, "\r\nContent-Disposition: form-data; name=\""...)
	buf = append(buf, field...)
	buf = append(buf, "\"; filename=\""...)
	buf = append(buf, headerEscaper.Replace(name)...)
	buf = append(buf, "\"\r\nContent-Type: "...)
	buf = append(buf, ct...)
	return append(buf, "\r\n\r\n"...)
}

// fileHeader is the part header appendFilePart writes, for a
// multipart.Writer.
func fileHeader(field, name string) textproto.MIMEHeader {
	ct := mime.TypeByExtension(strings.ToLower(filepath.Ext(name)))
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, field, headerEscaper.Replace(name)))
	h.Set("Content-Type", ct)
	return h
}

// headerEscaper percent-encodes what would end a quoted header value
// (built once: building a Replacer allocates ~9 KB, per file otherwise).
var headerEscaper = strings.NewReplacer(`"`, "%22", "\r", "%0D", "\n", "%0A")

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
	f, err := openRead(b.path)
	if err != nil {
		return nil, err
	}
	mr := &multiReadCloser{closers: []io.Closer{f}}
	readers := []io.Reader{bytes.NewReader(b.head), &exactReader{r: f, left: b.size, name: b.path, onRead: b.onRead}}
	if b.sidecar != "" {
		sf, err := openRead(b.sidecar)
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
