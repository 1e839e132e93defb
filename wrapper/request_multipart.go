package wrapper

import (
	"bytes"
	"io"
	"mime/multipart"
	"os"
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
// Add every part before the first Open.
type MultipartBody struct {
	buf   bytes.Buffer
	mw    *multipart.Writer
	parts []multipartPart
	tail  []byte // the closing boundary, once Len or Open ran
}

type multipartPart struct {
	head   []byte // the framing before the content
	text   string
	path   string
	size   int64
	onRead func(int)
}

// NewMultipartBody returns an empty body with a random boundary.
func NewMultipartBody() *MultipartBody {
	b := &MultipartBody{}
	b.mw = multipart.NewWriter(&b.buf)
	return b
}

// AddField adds the text field name.
func (b *MultipartBody) AddField(name, value string) error {
	if _, err := b.mw.CreateFormField(name); err != nil {
		return err
	}
	b.parts = append(b.parts, multipartPart{head: b.take(), text: value})
	return nil
}

// AddFile adds the file at path as field name, with its base name as file
// name and the content type of its extension. size is its length: a file
// that has shrunk when the body is sent fails the send instead of sending a
// short body. onRead, when not nil, is told the byte count of each read of
// the file.
func (b *MultipartBody) AddFile(name, path string, size int64, onRead func(int)) error {
	if _, err := b.mw.CreatePart(fileHeader(name, filepath.Base(path))); err != nil {
		return err
	}
	b.parts = append(b.parts, multipartPart{head: b.take(), path: path, size: size, onRead: onRead})
	return nil
}

// take returns the framing written since the last take.
func (b *MultipartBody) take() []byte {
	h := bytes.Clone(b.buf.Bytes())
	b.buf.Reset()
	return h
}

// ContentType is the body's Content-Type header, with its boundary.
func (b *MultipartBody) ContentType() string { return b.mw.FormDataContentType() }

// Len returns the exact length of the body in bytes.
func (b *MultipartBody) Len() int64 {
	n := int64(len(b.closing()))
	for _, p := range b.parts {
		n += int64(len(p.head)+len(p.text)) + p.size
	}
	return n
}

func (b *MultipartBody) closing() []byte {
	if b.tail == nil {
		b.mw.Close()
		b.tail = b.take()
	}
	return b.tail
}

// Open returns a reader of the whole body; it opens the files now, and
// closing the reader closes them.
func (b *MultipartBody) Open() (io.ReadCloser, error) {
	tail := b.closing()
	mr := &multiReadCloser{}
	readers := make([]io.Reader, 0, 2*len(b.parts)+1)
	for _, p := range b.parts {
		readers = append(readers, bytes.NewReader(p.head))
		if p.path == "" {
			readers = append(readers, strings.NewReader(p.text))
			continue
		}
		f, err := os.Open(p.path)
		if err != nil {
			mr.Close()
			return nil, err
		}
		mr.closers = append(mr.closers, f)
		readers = append(readers, &exactReader{r: f, left: p.size, name: p.path, onRead: p.onRead})
	}
	mr.Reader = io.MultiReader(append(readers, bytes.NewReader(tail))...)
	return mr, nil
}
