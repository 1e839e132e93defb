package wrapper

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/goimmich/goimmich/api"
)

// downloadBufferSize is the fixed buffer a download is copied through: the
// memory a download uses does not depend on the size of the file.
const downloadBufferSize = 256 << 10

// maxNumberedNames bounds the "name (n).ext" candidates tried for one file.
const maxNumberedNames = 10000

// ErrChecksumMismatch is returned (wrapped) when a downloaded original's SHA1
// differs from the checksum the server holds for the asset. Nothing is left
// on disk.
var ErrChecksumMismatch = errors.New("checksum mismatch")

// DownloadOptions configures DownloadAssetToFile, ViewAssetToFile,
// PlayAssetVideoToFile and DownloadArchiveToDir. The zero value downloads
// with the Client's credentials, verifies originals and never overwrites a
// file.
type DownloadOptions struct {
	// Key is the key of a shared link, for access through it ("key" query
	// parameter).
	Key string
	// Slug is the slug of a shared link, for access through it ("slug" query
	// parameter).
	Slug string
	// Filename overrides the file name the server suggests. It is sanitised
	// like any other name (no folders: only its last element is used); the
	// extension of the content type is added when it has none. For
	// DownloadArchiveToDir it names the zip files ("NAME.zip", or "NAME-1.zip",
	// "NAME-2.zip", ... when the server splits the download).
	Filename string
	// Overwrite replaces an existing file of the same name. Without it an
	// existing file is never touched: when it holds the same bytes it is
	// returned as the result, otherwise the download gets the first free name
	// of "NAME (1).ext", "NAME (2).ext", ...
	Overwrite bool
	// Progress observes the download; nil means none. Start, Add and Done
	// name the file by outDir and the name chosen from the server's first
	// answer, also when it ends under a numbered name or as an existing
	// copy (status "exists"); bytes are announced once, even when a
	// transfer restarts. DownloadArchiveToDir announces Total.
	Progress Progress
	// SkipVerify turns verification off. By default (false) the SHA1 of a
	// downloaded original is compared with the asset's checksum, and a zip
	// archive must open as one. Originals of external libraries are never
	// SHA1-verified: their Immich checksum is a hash of the path, not of the
	// bytes.
	SkipVerify bool
	// ArchiveSize splits DownloadArchiveToDir's download: the server adds
	// assets to a zip until it holds more than this many bytes, then starts
	// the next. Zero means the server's default (4 GiB).
	ArchiveSize int64
}

// DownloadAssetToFile downloads the original file of asset id into folder
// outDir (created if missing) and returns the path of the file.
//
// The name is the server's Content-Disposition name, else the asset's
// originalFileName, else "asset-ID", sanitised (see DownloadOptions.Filename
// and Overwrite for the rules); nothing is ever written outside outDir.
// The body is streamed through a fixed 256 KiB buffer into "NAME.part", whose
// SHA1 is compared with the asset's checksum (unless SkipVerify); only a
// complete, verified file is synced to disk and given its final name
// atomically (a hard link that fails if the name is taken, or a rename with
// Overwrite), so a failure leaves no file under a final name and removes the
// .part. A .part that another download is writing is never touched
// ("NAME.1.part" is used then). A cut or
// stalled connection is resumed with a Range request (If-Range on the ETag,
// so a file changed on the server starts over), within the Client's
// RetryPolicy: MaxAttempts counts attempts in a row that moved no bytes, and
// an attempt whose body stops moving for StallTimeout is aborted and resumed.
//
// When a file already in outDir holds the asset's verified bytes, it is
// returned without downloading again. A missing asset gives an error
// matching ErrNotFound; a refused key or shared link, ErrUnauthorized or
// ErrForbidden with a hint saying which.
func (c *Client) DownloadAssetToFile(ctx context.Context, id uuid.UUID, outDir string, opts DownloadOptions) (string, error) {
	what := "downloading asset " + id.String()
	info, err := c.downloadAssetInfo(ctx, id, what, opts)
	if err != nil {
		return "", err
	}
	var want []byte
	if !opts.SkipVerify && info.LibraryId == nil {
		if want, err = decodeChecksum(info.Checksum); err != nil {
			return "", fmt.Errorf("%s: %w; use SkipVerify to download without verification", what, err)
		}
	}
	fallback := "asset-" + id.String()
	mimeType := ""
	if info.OriginalMimeType != nil {
		mimeType = *info.OriginalMimeType
	}
	return c.fetchToDir(ctx, outDir, fetchSpec{
		what:   what,
		op:     "downloadAsset",
		method: http.MethodGet,
		path:   "/assets/" + id.String() + "/original",
		query:  sharedLinkQuery(opts, nil),
		resume: true,
		sha1:   want,
		guess:  withExtension(firstName(opts.Filename, info.OriginalFileName, fallback), mimeType),
		nameFor: func(h http.Header) string {
			return withExtension(firstName(opts.Filename, filenameFromHeader(h), info.OriginalFileName, fallback), h.Get("Content-Type"))
		},
	}, opts)
}

// ViewAssetToFile downloads a rendition of asset id (size: api.AssetMediaSizeThumbnail,
// api.AssetMediaSizePreview or api.AssetMediaSizeFullsize) into folder outDir and returns the path of the
// file. The name is the server's Content-Disposition name
// ("IMG_1_preview.webp"), else "STEM_SIZE" with the extension of the content
// type the server sends (webp or jpeg). Streaming, .part, resume, naming and
// error rules are those of DownloadAssetToFile; there is no checksum to
// verify a rendition against.
func (c *Client) ViewAssetToFile(ctx context.Context, id uuid.UUID, outDir string, size api.AssetMediaSize, opts DownloadOptions) (string, error) {
	what := fmt.Sprintf("downloading %s of asset %s", size, id)
	if size != "" && !size.Valid() {
		return "", fmt.Errorf("%s: unknown size %q; use thumbnail, preview or fullsize", what, size)
	}
	info, err := c.downloadAssetInfo(ctx, id, what, opts)
	if err != nil {
		return "", err
	}
	label := string(size)
	if label == "" {
		label = string(api.AssetMediaSizeThumbnail)
	}
	stem := stemOf(firstName(opts.Filename, info.OriginalFileName, "asset-"+id.String()))
	q := url.Values{}
	if size != "" {
		q.Set("size", string(size))
	}
	return c.fetchToDir(ctx, outDir, fetchSpec{
		what:   what,
		op:     "viewAsset",
		method: http.MethodGet,
		path:   "/assets/" + id.String() + "/thumbnail",
		query:  sharedLinkQuery(opts, q),
		resume: true,
		nameFor: func(h http.Header) string {
			ct := h.Get("Content-Type")
			if opts.Filename != "" {
				return withExtension(sanitizeFilename(opts.Filename), ct)
			}
			if n := sanitizeFilename(filenameFromHeader(h)); n != "" {
				return withExtension(n, ct)
			}
			return sanitizeFilename(stem+"_"+label) + extensionFor(ct)
		},
	}, opts)
}

// PlayAssetVideoToFile downloads the playback version of video asset id (the
// transcoded video when the server made one, else the original) into folder
// outDir and returns the path of the file. The name is the stem of the
// asset's originalFileName with the extension of the content type. Streaming,
// .part, resume (Range), naming and error rules are those of
// DownloadAssetToFile; a transcoded video has no checksum to verify.
func (c *Client) PlayAssetVideoToFile(ctx context.Context, id uuid.UUID, outDir string, opts DownloadOptions) (string, error) {
	what := "downloading video " + id.String()
	info, err := c.downloadAssetInfo(ctx, id, what, opts)
	if err != nil {
		return "", err
	}
	if info.Type != api.AssetTypeEnumVIDEO {
		return "", fmt.Errorf("%s: the asset is a %s, not a video; use DownloadAssetToFile", what, strings.ToLower(string(info.Type)))
	}
	original := firstName(info.OriginalFileName, "asset-"+id.String())
	return c.fetchToDir(ctx, outDir, fetchSpec{
		what:   what,
		op:     "playAssetVideo",
		method: http.MethodGet,
		path:   "/assets/" + id.String() + "/video/playback",
		query:  sharedLinkQuery(opts, nil),
		resume: true,
		nameFor: func(h http.Header) string {
			ct := h.Get("Content-Type")
			if n := firstName(opts.Filename, filenameFromHeader(h)); n != "" {
				return withExtension(n, ct)
			}
			if ext := extensionFor(ct); ext != "" {
				return sanitizeFilename(stemOf(original)) + ext
			}
			return original
		},
	}, opts)
}

// DownloadArchiveToDir downloads assets assetIDs as zip archives into folder
// outDir and returns the paths of the zip files, in order. It asks the server
// how to split them (POST /download/info; see DownloadOptions.ArchiveSize),
// then streams each zip (POST /download/archive) through a fixed buffer into
// a .part file that becomes "immich-archive.zip" (or "immich-archive-N.zip"
// for several; see DownloadOptions.Filename) only when complete and, unless
// SkipVerify, readable as a zip. An archive is built on the fly by the
// server, so a cut connection restarts that zip from its start, within the
// Client's RetryPolicy. No zip is ever held in memory. On error the paths of
// the zips already written are returned with it.
func (c *Client) DownloadArchiveToDir(ctx context.Context, assetIDs []uuid.UUID, outDir string, opts DownloadOptions) ([]string, error) {
	what := fmt.Sprintf("downloading an archive of %d assets", len(assetIDs))
	if len(assetIDs) == 0 {
		return nil, fmt.Errorf("%s: no asset ids given", what)
	}
	dto := api.DownloadInfoDto{AssetIds: &assetIDs}
	if opts.ArchiveSize > 0 {
		n := int(opts.ArchiveSize)
		dto.ArchiveSize = &n
	}
	params := &api.GetDownloadInfoParams{}
	params.Key, params.Slug = sharedLinkParams(opts)
	r, err := c.GetDownloadInfoWithResponse(ctx, params, dto)
	if err == nil {
		err = CheckResponse("getDownloadInfo", r.HTTPResponse, r.Body)
	}
	if err == nil && r.JSON201 == nil {
		err = notImmich("getDownloadInfo", c, r.HTTPResponse)
	}
	if err != nil {
		return nil, c.decorateDownloadError(err, what, opts.Key != "" || opts.Slug != "")
	}
	archives := r.JSON201.Archives
	if len(archives) == 0 {
		return nil, fmt.Errorf("%s: the server has nothing to download for these ids", what)
	}
	base := "immich-archive"
	if opts.Filename != "" {
		if n := stemOf(sanitizeFilename(opts.Filename)); n != "" {
			base = n
		}
	}
	progressOrNop(opts.Progress).Total(len(archives), int64(r.JSON201.TotalSize))
	var paths []string
	for i, a := range archives {
		name := base + ".zip"
		if len(archives) > 1 {
			name = fmt.Sprintf("%s-%d.zip", base, i+1)
		}
		body, err := json.Marshal(api.AssetIdsDto{AssetIds: a.AssetIds})
		if err != nil {
			return paths, fmt.Errorf("%s: %w", what, err)
		}
		p, err := c.fetchToDir(ctx, outDir, fetchSpec{
			what:     fmt.Sprintf("%s (zip %d of %d)", what, i+1, len(archives)),
			op:       "downloadArchive",
			method:   http.MethodPost,
			path:     "/download/archive",
			query:    sharedLinkQuery(opts, nil),
			body:     body,
			zip:      !opts.SkipVerify,
			sizeHint: int64(a.Size),
			nameFor:  func(http.Header) string { return sanitizeFilename(name) },
		}, opts)
		if err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// downloadAssetInfo gets the asset (GET /assets/{id}), for its name and
// checksum, with the shared link's key or slug when given.
func (c *Client) downloadAssetInfo(ctx context.Context, id uuid.UUID, what string, opts DownloadOptions) (*api.AssetResponseDto, error) {
	params := &api.GetAssetInfoParams{}
	params.Key, params.Slug = sharedLinkParams(opts)
	r, err := c.GetAssetInfoWithResponse(ctx, id, params)
	if err == nil {
		err = CheckResponse("getAssetInfo", r.HTTPResponse, r.Body)
	}
	if err == nil && r.JSON200 == nil {
		err = notImmich("getAssetInfo", c, r.HTTPResponse)
	}
	if err != nil {
		return nil, c.decorateDownloadError(err, what, opts.Key != "" || opts.Slug != "")
	}
	return r.JSON200, nil
}

// decorateDownloadError prefixes err with what was being done and, for an
// *APIError, says whether the API key or the shared link was refused. Immich
// answers 400 "Not found or no asset.download access" for an id it does not
// have (or the caller may not see); that error also matches ErrNotFound.
func (c *Client) decorateDownloadError(err error, what string, shared bool) error {
	var ae *APIError
	if !errors.As(err, &ae) {
		return fmt.Errorf("%s: %w", what, redactURLError(err))
	}
	switch ae.StatusCode {
	case http.StatusUnauthorized:
		if shared {
			ae.Hint = "the shared link was refused: check its key or slug (has the link expired or been removed?)"
		} else {
			ae.Hint = "the API key or token was refused: check it is for this server and not revoked"
		}
	case http.StatusForbidden:
		if shared {
			ae.Hint = "the shared link does not allow this: downloads may be disabled on it, or it does not hold this asset"
		} else {
			ae.Hint = "the API key lacks the permission (asset.read, asset.download or asset.view), or the asset belongs to someone else"
		}
	case http.StatusNotFound:
		ae.Hint = "the server has no such asset (check the id)"
	case http.StatusBadRequest:
		if strings.HasPrefix(strings.ToLower(ae.Message), "not found or no ") {
			hint := "the server has no such asset, or this API key may not see it"
			if shared {
				hint = "the asset is not in this shared link, or the link does not allow downloads"
			}
			ae.Hint = hint
			return fmt.Errorf("%s: %w: %w", what, ErrNotFound, ae)
		}
	}
	return fmt.Errorf("%s: %w", what, ae)
}

// notImmich is the error for a 2xx answer that is not Immich's JSON: the URL
// likely points at another server (a proxy's login page, a web app).
func notImmich(op string, c *Client, resp *http.Response) error {
	ct := ""
	if resp != nil {
		ct = resp.Header.Get("Content-Type")
	}
	return fmt.Errorf("%s: the server answered %q, not Immich's JSON: is %s the Immich server's URL?", op, ct, c.ServerURL())
}

// redactURLError hides the shared link's key (and slug) in the URL that a
// *url.Error prints ("Get \"https://...?key=...\": connection refused"): a
// link key is a secret and never appears in errors.
func redactURLError(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	u, perr := url.Parse(ue.URL)
	if perr != nil {
		ue.URL = "(URL hidden)"
		return err
	}
	q := u.Query()
	for _, k := range []string{"key", "slug"} {
		if q.Has(k) {
			q.Set(k, "REDACTED")
		}
	}
	u.RawQuery = q.Encode()
	ue.URL = u.String()
	return err
}

// sharedLinkParams returns the shared link's key and slug as the generated
// params want them: nil when not given.
func sharedLinkParams(opts DownloadOptions) (key, slug *string) {
	if opts.Key != "" {
		key = &opts.Key
	}
	if opts.Slug != "" {
		slug = &opts.Slug
	}
	return key, slug
}

// sharedLinkQuery adds the shared link's key and slug to q (which may be nil).
func sharedLinkQuery(opts DownloadOptions, q url.Values) url.Values {
	if q == nil {
		q = url.Values{}
	}
	if opts.Key != "" {
		q.Set("key", opts.Key)
	}
	if opts.Slug != "" {
		q.Set("slug", opts.Slug)
	}
	if len(q) == 0 {
		return nil
	}
	return q
}

// decodeChecksum decodes an asset's base64 SHA1 checksum (hex is accepted
// too).
func decodeChecksum(s string) ([]byte, error) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == sha1.Size {
		return b, nil
	}
	if b, err := hex.DecodeString(s); err == nil && len(b) == sha1.Size {
		return b, nil
	}
	return nil, fmt.Errorf("the server's checksum %q is not a SHA1", s)
}

// firstName returns the first of names that sanitises to something usable.
func firstName(names ...string) string {
	for _, n := range names {
		if s := sanitizeFilename(n); s != "" {
			return s
		}
	}
	return ""
}

// stemOf returns name without its extension.
func stemOf(name string) string {
	if s := strings.TrimSuffix(name, filepath.Ext(name)); s != "" {
		return s
	}
	return name
}

func filenameFromHeader(h http.Header) string {
	return filenameFromContentDisposition(h.Get("Content-Disposition"))
}

// fetchSpec describes one file to download.
type fetchSpec struct {
	what   string // "downloading asset ID", the start of every error
	op     string // operationId, for *APIError
	method string
	path   string // relative to the /api base
	query  url.Values
	body   []byte // request body (JSON), for POST
	resume bool   // a cut transfer continues with Range
	sha1   []byte // expected SHA1 of the bytes, when known
	zip    bool   // the result must open as a zip archive
	// sizeHint is the expected size for Progress when the server does not
	// announce one (a zip streamed as it is built); 0 when unknown.
	sizeHint int64
	// guess is the name the file will likely get, checked before
	// downloading when sha1 is known: a file there with those bytes is the
	// result.
	guess string
	// nameFor returns the sanitised final name from the first answer's
	// headers.
	nameFor func(http.Header) string
}

// fetchToDir downloads spec into outDir and returns the final path.
func (c *Client) fetchToDir(ctx context.Context, outDir string, spec fetchSpec, opts DownloadOptions) (string, error) {
	if outDir == "" {
		outDir = "."
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", fmt.Errorf("%s: creating the target folder: %w", spec.what, err)
	}
	root, err := os.OpenRoot(outDir)
	if err != nil {
		return "", fmt.Errorf("%s: opening the target folder: %w", spec.what, err)
	}
	defer root.Close()
	prog := progressOrNop(opts.Progress)

	if spec.sha1 != nil && spec.guess != "" && !opts.Overwrite {
		name, err := findSame(root, spec.guess, spec.sha1)
		if err != nil {
			return "", fmt.Errorf("%s: %w", spec.what, err)
		}
		if name != "" {
			p := filepath.Join(outDir, name)
			if fi, err := root.Lstat(name); err == nil {
				prog.Start(p, fi.Size())
			}
			prog.Done(p, "exists", nil)
			return p, nil
		}
	}

	t := &transfer{c: c, spec: spec, root: root, outDir: outDir, prog: prog,
		buf: make([]byte, downloadBufferSize), hash: sha1.New(), total: -1}
	final, status, err := t.runAll(ctx, opts.Overwrite)
	if err != nil {
		t.discard()
		if t.name != "" {
			prog.Done(t.progressKey(), "failed", err)
		}
		return "", err
	}
	// Progress knows the file by the name it started with, even when it
	// ends as "NAME (1).ext" or as an existing copy.
	prog.Done(t.progressKey(), status, nil)
	return filepath.Join(outDir, final), nil
}

// transfer is the state of one download: the .part file and how much of it
// is written.
type transfer struct {
	c      *Client
	spec   fetchSpec
	root   *os.Root
	outDir string
	prog   Progress
	buf    []byte

	name      string // final name, from the first answer
	partName  string
	part      *os.File
	hash      hash.Hash // SHA1 of part[:off]
	off       int64     // bytes in part
	total     int64     // announced size, -1 when unknown
	etag      string
	validator string // ETag or Last-Modified, sent as If-Range
	resumed   bool   // some bytes came from a Range answer
	reported  int64  // bytes announced to Progress
	started   bool   // Progress.Start was called
}

// runAll downloads, verifies, syncs and places the file; on a checksum
// mismatch after a resumed transfer it starts over once, in case the resume
// joined two versions of the file.
func (t *transfer) runAll(ctx context.Context, overwrite bool) (string, string, error) {
	for try := 0; ; try++ {
		if err := t.run(ctx); err != nil {
			return "", "", err
		}
		err := t.verify()
		if err == nil {
			break
		}
		if errors.Is(err, ErrChecksumMismatch) && t.resumed && try == 0 {
			t.c.logger.Debug("checksum mismatch after resume; starting over", "path", t.spec.path)
			if err := t.restart(); err != nil {
				return "", "", err
			}
			continue
		}
		return "", "", err
	}
	if err := t.part.Sync(); err != nil {
		return "", "", fmt.Errorf("%s: syncing %s: %w", t.spec.what, t.partName, err)
	}
	if err := t.part.Close(); err != nil {
		t.part = nil
		return "", "", fmt.Errorf("%s: closing %s: %w", t.spec.what, t.partName, err)
	}
	t.part = nil
	final, status, err := t.place(overwrite)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", t.spec.what, err)
	}
	syncDir(t.root)
	return final, status, nil
}

// downloadRetryable marks a failure worth another attempt; resp, when set, is
// the (closed) answer, for its Retry-After.
type downloadRetryable struct {
	err  error
	resp *http.Response
}

func (e *downloadRetryable) Error() string { return e.err.Error() }
func (e *downloadRetryable) Unwrap() error { return e.err }

// run makes attempts until the whole body is in the .part file. MaxAttempts
// counts consecutive attempts that added no byte.
func (t *transfer) run(ctx context.Context) error {
	attempts := t.c.retry.attempts()
	fails := 0
	for {
		before := t.off
		err := t.attempt(ctx)
		if err == nil {
			return nil
		}
		var re *downloadRetryable
		if !errors.As(err, &re) {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", t.spec.what, context.Cause(ctx))
		}
		if t.off > before {
			fails = 0
		}
		fails++
		if fails >= attempts {
			return fmt.Errorf("%s: giving up after %d attempts without progress: %w", t.spec.what, fails, re.err)
		}
		wait := t.c.retry.backoff(fails, re.resp)
		t.c.logger.Debug("download interrupted; retrying", "path", t.spec.path, "error", re.err,
			"have", t.off, "attempt", fails, "wait", wait)
		if err := sleep(ctx, wait); err != nil {
			return fmt.Errorf("%s: %w", t.spec.what, err)
		}
	}
}

// attempt sends one request and appends its body to the .part file.
func (t *transfer) attempt(ctx context.Context) error {
	var body io.Reader
	if t.spec.body != nil {
		body = bytes.NewReader(t.spec.body)
	}
	req, err := t.c.newRequest(ctx, t.spec.method, t.spec.path, t.spec.query, body)
	if err != nil {
		return fmt.Errorf("%s: %w", t.spec.what, err)
	}
	if t.spec.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	// Bytes as stored: no transparent gunzip, so ranges and sizes line up.
	req.Header.Set("Accept-Encoding", "identity")
	ranged := t.spec.resume && t.off > 0
	if ranged {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(t.off, 10)+"-")
		if t.validator != "" {
			req.Header.Set("If-Range", t.validator)
		}
	}
	// One attempt under the Client's stall watch: the answer timeout while
	// waiting for the headers, the stall timeout while the body is read.
	resp, err := t.c.send(req, req.Body)
	if err != nil {
		err = redactURLError(err)
		if !retryableError(err) || ctx.Err() != nil {
			return fmt.Errorf("%s: %w", t.spec.what, err)
		}
		return &downloadRetryable{err: err}
	}
	defer resp.Body.Close()

	switch code := resp.StatusCode; {
	case code == http.StatusOK:
		if t.off > 0 {
			// The server sent the whole file: the If-Range validator no
			// longer matches, or it ignores ranges. Start over with it.
			if err := t.restart(); err != nil {
				return err
			}
		}
	case code == http.StatusPartialContent:
		start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		etag := resp.Header.Get("ETag")
		if !ok || start != t.off || (t.total >= 0 && total != t.total) || (t.etag != "" && etag != "" && etag != t.etag) {
			drain(resp.Body)
			if err := t.restart(); err != nil {
				return err
			}
			return &downloadRetryable{err: fmt.Errorf("the server answered range %q for a request from byte %d; starting over", resp.Header.Get("Content-Range"), t.off)}
		}
		if t.off > 0 {
			t.resumed = true
		}
		t.total = total
	case code == http.StatusRequestedRangeNotSatisfiable:
		drain(resp.Body)
		if err := t.restart(); err != nil {
			return err
		}
		return &downloadRetryable{err: errors.New("the server refused to resume (416); starting over")}
	case retryableStatus(code):
		return &downloadRetryable{err: newAPIError(t.spec.op, code, resp.Header, resp.Body), resp: resp}
	case code < 200 || code > 299:
		return t.c.decorateDownloadError(newAPIError(t.spec.op, code, resp.Header, resp.Body), t.spec.what, t.spec.query.Has("key") || t.spec.query.Has("slug"))
	default:
		return fmt.Errorf("%s: unexpected answer %d %s", t.spec.what, code, http.StatusText(code))
	}

	if t.part == nil {
		if err := t.openPart(resp.Header); err != nil {
			return err
		}
	}
	if t.off == 0 {
		t.total = resp.ContentLength
		if resp.StatusCode == http.StatusPartialContent {
			_, t.total, _ = parseContentRange(resp.Header.Get("Content-Range"))
		}
		t.etag = resp.Header.Get("ETag")
		t.validator = t.etag
		if t.validator == "" {
			t.validator = resp.Header.Get("Last-Modified")
		}
		if !t.started {
			size := t.total
			if size < 0 {
				size = t.spec.sizeHint
			}
			t.prog.Start(t.progressKey(), size)
			t.started = true
		}
	}

	for {
		n, rerr := resp.Body.Read(t.buf)
		if n > 0 {
			if _, err := t.part.Write(t.buf[:n]); err != nil {
				return fmt.Errorf("%s: writing %s: %w", t.spec.what, filepath.Join(t.outDir, t.partName), err)
			}
			t.hash.Write(t.buf[:n])
			t.off += int64(n)
			if t.off > t.reported {
				t.prog.Add(t.progressKey(), t.off-t.reported)
				t.reported = t.off
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return &downloadRetryable{err: fmt.Errorf("connection lost after %d bytes: %w", t.off, rerr)}
		}
	}
	if t.total >= 0 && t.off != t.total {
		return &downloadRetryable{err: fmt.Errorf("body ended after %d of %d bytes: %w", t.off, t.total, io.ErrUnexpectedEOF)}
	}
	return nil
}

// progressKey is the path Progress knows the download by: the folder and
// the name chosen from the first answer.
func (t *transfer) progressKey() string { return filepath.Join(t.outDir, t.name) }

// openPart chooses the final name from the first answer and creates its
// .part file, exclusively: a .part another download is writing (or an
// interrupted run left) is never touched; "NAME.1.part", ... are used then.
func (t *transfer) openPart(h http.Header) error {
	t.name = t.spec.nameFor(h)
	if t.name == "" {
		return fmt.Errorf("%s: no usable file name", t.spec.what)
	}
	for i := 0; i < 100; i++ {
		part := t.name + ".part"
		if i > 0 {
			part = t.name + "." + strconv.Itoa(i) + ".part"
		}
		f, err := t.root.OpenFile(part, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: creating %s: %w", t.spec.what, filepath.Join(t.outDir, part), err)
		}
		t.part, t.partName = f, part
		return nil
	}
	return fmt.Errorf("%s: too many %s.*.part files in %s; remove the ones no download is writing", t.spec.what, t.name, t.outDir)
}

// restart empties the .part file to download from byte 0 again.
func (t *transfer) restart() error {
	t.off, t.total, t.etag, t.validator, t.resumed = 0, -1, "", "", false
	t.hash.Reset()
	if t.part == nil {
		return nil
	}
	if err := t.part.Truncate(0); err != nil {
		return fmt.Errorf("%s: emptying %s: %w", t.spec.what, t.partName, err)
	}
	if _, err := t.part.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("%s: rewinding %s: %w", t.spec.what, t.partName, err)
	}
	return nil
}

// verify checks the complete .part file against the checksum or the zip
// format.
func (t *transfer) verify() error {
	if t.spec.sha1 != nil {
		if got := t.hash.Sum(nil); !bytes.Equal(got, t.spec.sha1) {
			return fmt.Errorf("%s: %w: the server's checksum is %s, the %d bytes received hash to %s",
				t.spec.what, ErrChecksumMismatch, base64.StdEncoding.EncodeToString(t.spec.sha1), t.off,
				base64.StdEncoding.EncodeToString(got))
		}
	}
	if t.spec.zip {
		// Reads only the central directory, at the end of the file.
		if _, err := zip.NewReader(t.part, t.off); err != nil {
			return fmt.Errorf("%s: the %d bytes received are not a zip archive: %w", t.spec.what, t.off, err)
		}
	}
	return nil
}

// discard closes and removes the .part file after a failure.
func (t *transfer) discard() {
	if t.part != nil {
		t.part.Close()
		t.part = nil
	}
	if t.partName != "" {
		if err := t.root.Remove(t.partName); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.c.logger.Warn("could not remove partial download", "path", filepath.Join(t.outDir, t.partName), "error", err)
		}
		t.partName = ""
	}
}

// place gives the verified, synced .part its final name without ever
// replacing a file unless overwrite: a hard link fails when the name is
// taken, atomically, so two downloads racing for a name cannot both get it.
// It returns the name and "downloaded", or the name of an existing file with
// the same bytes and "exists".
func (t *transfer) place(overwrite bool) (string, string, error) {
	sum := t.hash.Sum(nil)
	for i := 0; i < maxNumberedNames; i++ {
		name := t.name
		if i > 0 {
			name = numberedName(t.name, i)
		}
		if overwrite && i == 0 {
			if err := t.root.Rename(t.partName, name); err != nil {
				return "", "", fmt.Errorf("renaming %s to %s: %w", t.partName, name, err)
			}
			t.partName = ""
			return name, "downloaded", nil
		}
		err := t.root.Link(t.partName, name)
		if err == nil {
			if err := t.root.Remove(t.partName); err != nil {
				t.c.logger.Warn("could not remove partial download", "path", filepath.Join(t.outDir, t.partName), "error", err)
			}
			t.partName = ""
			return name, "downloaded", nil
		}
		if !errors.Is(err, fs.ErrExist) {
			// No hard links here (FAT, some network shares): check, then
			// rename. Only a concurrent writer of the same name can race.
			if _, serr := t.root.Lstat(name); errors.Is(serr, fs.ErrNotExist) {
				if err := t.root.Rename(t.partName, name); err != nil {
					return "", "", fmt.Errorf("renaming %s to %s: %w", t.partName, name, err)
				}
				t.partName = ""
				return name, "downloaded", nil
			} else if serr != nil {
				return "", "", serr
			}
		}
		same, err := sameFile(t.root, name, t.off, sum)
		if err != nil {
			return "", "", err
		}
		if same {
			t.discard()
			return name, "exists", nil
		}
	}
	return "", "", fmt.Errorf("%s and %d numbered names are all taken in %s", t.name, maxNumberedNames-1, t.outDir)
}

// findSame returns the first of name, "name (1)", ... (up to the first free
// one) that holds bytes with SHA1 sum, or "".
func findSame(root *os.Root, name string, sum []byte) (string, error) {
	for i := 0; i < maxNumberedNames; i++ {
		cand := name
		if i > 0 {
			cand = numberedName(name, i)
		}
		same, err := sameFile(root, cand, -1, sum)
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		if same {
			return cand, nil
		}
	}
	return "", nil
}

// sameFile reports whether name is a regular file of size bytes (any size
// when size < 0) whose SHA1 is sum. A missing name gives fs.ErrNotExist.
func sameFile(root *os.Root, name string, size int64, sum []byte) (bool, error) {
	fi, err := root.Lstat(name)
	if err != nil {
		return false, err
	}
	if !fi.Mode().IsRegular() || (size >= 0 && fi.Size() != size) {
		return false, nil
	}
	f, err := root.Open(name)
	if err != nil {
		return false, err
	}
	defer f.Close()
	h := sha1.New()
	if _, err := io.CopyBuffer(h, f, make([]byte, downloadBufferSize)); err != nil {
		return false, fmt.Errorf("reading %s: %w", name, err)
	}
	return bytes.Equal(h.Sum(nil), sum), nil
}

// syncDir makes a rename durable; best effort (not every system can sync a
// folder).
func syncDir(root *os.Root) {
	if d, err := root.Open("."); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// parseContentRange parses "bytes START-END/TOTAL"; total is -1 for "*".
func parseContentRange(s string) (start, total int64, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(s), "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start {
		return 0, 0, false
	}
	total = -1
	if tot != "*" {
		n, err := strconv.ParseInt(tot, 10, 64)
		if err != nil || n <= end {
			return 0, 0, false
		}
		total = n
	}
	return start, total, true
}

// drain reads a little of an unwanted body so the connection can be reused.
func drain(r io.Reader) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r, maxErrorBody))
}
