package wrapper

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goimmich/goimmich/api"
)

func TestHashFile(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, hashBufSize - 1, hashBufSize, 3*hashBufSize + 7} {
		data := make([]byte, size)
		r := rand.New(rand.NewPCG(uint64(size), 1))
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		var seen int
		sum, n, err := hashFile(context.Background(), p, func(k int) { seen += k })
		if err != nil || n != int64(size) || seen != size {
			t.Fatalf("size %d: n=%d seen=%d err=%v", size, n, seen, err)
		}
		if want := sha1.Sum(data); sum != Checksum(want) {
			t.Fatalf("size %d: checksum %x, want %x", size, sum, want)
		}
	}
	if _, _, err := hashFile(context.Background(), filepath.Join(dir, "missing"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := hashFile(ctx, filepath.Join(dir, "f"), nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if got := (Checksum{0xab, 0x01}).Hex(); !strings.HasPrefix(got, "ab01") || len(got) != 40 {
		t.Fatalf("Hex = %q", got)
	}
}

// The multipart body has exactly the announced length, parses with a
// standard reader into the fields, the file and the sidecar, and escapes odd
// file names.
func TestUploadBodyLayout(t *testing.T) {
	dir := t.TempDir()
	name := "odd \"name\"\r\nwith é.jpg"
	p := filepath.Join(dir, name)
	content := bytes.Repeat([]byte("photo"), 10000)
	side := filepath.Join(dir, name+".xmp")
	writeFiles(t, dir, map[string]string{name: string(content), name + ".xmp": "<xmp/>"})
	mod := time.Date(2024, 2, 29, 13, 14, 15, 123456789, time.FixedZone("x", 3600))
	for _, tc := range []struct {
		sidecar bool
		server  Version
	}{{false, Version{3, 0, 3}}, {true, Version{2, 7, 3}}} {
		f := scannedFile{stat: fileStat{size: int64(len(content)), modTime: mod.UnixNano()}}
		var sc sidecarFile
		if tc.sidecar {
			sc = sidecarFile{path: side, size: 6}
		}
		var reported int
		b, err := newUploadBody(&f, p, sc, formFor(tc.server, api.AssetVisibilityArchive), func(n int) { reported += n })
		if err != nil {
			t.Fatal(err)
		}
		rc, err := b.Open()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(raw)) != b.Len() {
			t.Fatalf("body is %d bytes, Content-Length would say %d", len(raw), b.Len())
		}
		if reported != len(content) {
			t.Fatalf("progress reported %d bytes, want %d", reported, len(content))
		}
		_, params, err := mime.ParseMediaType(b.ContentType())
		if err != nil {
			t.Fatal(err)
		}
		mr := multipart.NewReader(bytes.NewReader(raw), params["boundary"])
		got := map[string]string{}
		var fileName string
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			v, _ := io.ReadAll(part)
			got[part.FormName()] = string(v)
			if part.FormName() == "assetData" {
				fileName = part.FileName()
			}
		}
		want := map[string]string{
			"fileCreatedAt":  "2024-02-29T12:14:15.123Z",
			"fileModifiedAt": "2024-02-29T12:14:15.123Z",
			"visibility":     "archive",
			"assetData":      string(content),
		}
		if tc.sidecar {
			want["sidecarData"] = "<xmp/>"
		}
		if tc.server.Major == 3 {
			want["duration"] = "0"
		} else {
			want["duration"] = "0:00:00.000000"
			want["deviceAssetId"] = strings.Join(strings.Fields(name), "") + "-50000"
			want["deviceId"] = "goimmich"
		}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if !bytes.Equal(gj, wj) {
			t.Fatalf("parts\n got %.300s\nwant %.300s", gj, wj)
		}
		if strings.ContainsAny(fileName, "\r\n") || !strings.Contains(fileName, "é") {
			t.Fatalf("file name %q: CR/LF must be escaped, UTF-8 kept", fileName)
		}
	}
}

func TestUploadBodyFileShrank(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.jpg")
	writeFiles(t, dir, map[string]string{"a.jpg": "0123456789"})
	b, err := newUploadBody(&scannedFile{stat: fileStat{size: 10, modTime: time.Now().UnixNano()}}, p, sidecarFile{}, uploadForm{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("01234"), 0o644); err != nil {
		t.Fatal(err)
	}
	rc, _ := b.Open()
	defer rc.Close()
	if _, err := io.ReadAll(rc); !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "shrank") {
		t.Fatalf("got %v", err)
	}
}

// openRead reads a file as os.Open does, and fails like it: an error that
// names the path and matches fs.ErrNotExist.
func TestOpenRead(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.jpg": "photo"})
	f, err := openRead(filepath.Join(dir, "a.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(f)
	if err != nil || string(b) != "photo" {
		t.Fatalf("read %q, %v", b, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "gone.jpg")
	_, err = openRead(missing)
	var pe *fs.PathError
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &pe) || pe.Path != missing || !strings.Contains(err.Error(), "open "+missing) {
		t.Fatalf("missing file: %v", err)
	}
}
