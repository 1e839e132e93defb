package wrapper

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"path/filepath"
	"strings"
)

// MultipartBody is a multipart/form-data request body streamed from its
// parts: the fields and the framing are held in memory (a few KiB), files
// are read from disk only while the body is sent, so memory does not grow
// with their size. Its length is known before sending (proxies want a
// Content-Length), and Open gives a fresh reader for every attempt, so a
// request with it can be retried:
//
//	req, _ := c.NewRequest(ctx, http.MethodPost, path, nil, nil)
//	req.Body, _ = body.Open()
//	req.GetBody, req.ContentLength = body.Open, body.Len()
//	req.Header.Set("Content-Type", body.ContentType())
//
// Parts are sent in the order they were added. Add every part before the
// first Len or Open; adding one later is an error. Upload builds its
// requests with it.
type MultipartBody struct {
	buf      bytes.Buffer // framing and fields written since the last file
	boundary string
	parts    int // parts added
	files    []multipartFile
	tail     []byte // what follows the last file, once Len or Open ran
}

// multipartFile is a file part: the framing and fields before it, then the
// file's bytes.
type multipartFile struct {
	head   []byte
	path   string
	size   int64
	onRead func(int)
}

// errMultipartClosed is returned when a part is added after Len or Open.
var errMultipartClosed = errors.New("multipart body: part added after Len or Open")

// NewMultipartBody returns an empty body with a random boundary.
func NewMultipartBody() *MultipartBody {
	b := &MultipartBody{boundary: multipart.NewWriter(nil).Boundary()}
	b.buf.Grow(512) // fields and one part header: no regrowth for common names
	return b
}

// The framing is written here rather than by mime/multipart's Writer,
// byte for byte as that writes it (the tests compare the two): the Writer
// builds and sorts a header map per part, a tenth of a small photo's
// upload cost.

// startPart writes the boundary before a part and its Content-Disposition
// header line (without its CRLF).
func (b *MultipartBody) startPart(field string) {
	if b.parts > 0 {
		b.buf.WriteString("\r\n")
	}
	b.parts++
	b.buf.WriteString("--")
	b.buf.WriteString(b.boundary)
	b.buf.WriteString("\r\nContent-Disposition: form-data; name=\"")
	b.buf.WriteString(quoteEscaper.Replace(field))
	b.buf.WriteByte('"')
}

// quoteEscaper escapes a field name as mime/multipart does.
var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"")

// AddField adds the text field name.
func (b *MultipartBody) AddField(name, value string) error {
	if b.tail != nil {
		return errMultipartClosed
	}
	b.startPart(name)
	b.buf.WriteString("\r\n\r\n")
	b.buf.WriteString(value)
	return nil
}

// AddFile adds the file at path as field name, with its base name as file
// name (", CR and LF percent-encoded, as browsers do) and the content type
// of its extension. size is its length: a file that has shrunk when the
// body is sent fails the send with io.ErrUnexpectedEOF instead of sending
// a short body, and bytes it has grown by are not sent. onRead, when not
// nil, is told the byte count of each read of the file, on every attempt.
func (b *MultipartBody) AddFile(name, path string, size int64, onRead func(int)) error {
	if b.tail != nil {
		return errMultipartClosed
	}
	base := filepath.Base(path)
	b.startPart(name)
	b.buf.WriteString("; filename=\"")
	b.buf.WriteString(headerEscaper.Replace(base))
	b.buf.WriteString("\"\r\nContent-Type: ")
	b.buf.WriteString(contentTypeOf(base))
	b.buf.WriteString("\r\n\r\n")
	b.files = append(b.files, multipartFile{head: b.take(), path: path, size: size, onRead: onRead})
	return nil
}

// take returns the bytes written since the last take.
func (b *MultipartBody) take() []byte {
	h := bytes.Clone(b.buf.Bytes())
	b.buf.Reset()
	return h
}

// ContentType is the body's Content-Type header, with its boundary.
func (b *MultipartBody) ContentType() string {
	return "multipart/form-data; boundary=" + b.boundary
}

// Len returns the exact length of the body in bytes.
func (b *MultipartBody) Len() int64 {
	n := int64(len(b.closing()))
	for _, f := range b.files {
		n += int64(len(f.head)) + f.size
	}
	return n
}

// closing ends the body on its first call and returns what follows the
// last file: the fields added after it and the closing boundary.
func (b *MultipartBody) closing() []byte {
	if b.tail == nil {
		b.buf.WriteString("\r\n--")
		b.buf.WriteString(b.boundary)
		b.buf.WriteString("--\r\n")
		b.tail = b.take()
	}
	return b.tail
}

// Open returns a reader of the whole body; it opens the files now, and
// closing the reader closes them. Each call gives an independent reader.
func (b *MultipartBody) Open() (io.ReadCloser, error) {
	tail := b.closing()
	mr := &multiReadCloser{closers: make([]io.Closer, 0, len(b.files))}
	readers := make([]io.Reader, 0, 2*len(b.files)+1)
	for _, p := range b.files {
		f, err := openRead(p.path)
		if err != nil {
			mr.Close()
			return nil, err
		}
		mr.closers = append(mr.closers, f)
		readers = append(readers, bytes.NewReader(p.head), &exactReader{r: f, left: p.size, name: p.path, onRead: p.onRead})
	}
	mr.Reader = io.MultiReader(append(readers, bytes.NewReader(tail))...)
	return mr, nil
}

// headerEscaper percent-encodes what would end a quoted header value
// (built once: building a Replacer allocates, per file otherwise).
var headerEscaper = strings.NewReplacer(`"`, "%22", "\r", "%0D", "\n", "%0A")

// contentTypeOf is the content type of a file named name, from its
// extension; application/octet-stream when unknown.
func contentTypeOf(name string) string {
	if ct := mime.TypeByExtension(strings.ToLower(filepath.Ext(name))); ct != "" {
		return ct
	}
	return "application/octet-stream"
}

// multiReadCloser reads Reader and closes every closer.
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
