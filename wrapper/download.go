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
	// the result (StatusPresent), otherwise the download gets the first free
	// name of "NAME (1).ext", "NAME (2).ext", ... (StatusRenamed).
	Overwrite bool
	// Progress observes the download; nil means none. Start and Add name
	// the file by the path it will land at, Done by the path it ended at,
	// with its outcome (see Progress.Done); bytes are announced once, even
	// when a transfer restarts. DownloadArchiveToDir announces Total.
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
// outDir (created if missing) and returns where the file is and how it got
// there (StatusDownloaded, StatusRenamed or StatusPresent).
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
// RetryPolicy: each request is retried by Client.Do until it gets an answer;
// then MaxAttempts counts resumes in a row that moved no bytes, and a body
// that stops moving for StallTimeout is aborted and resumed.
//
// When a file already in outDir holds the asset's verified bytes, it is
// returned (StatusPresent) without downloading again. A missing asset gives an error
// matching ErrNotFound; a refused key or shared link, ErrUnauthorized or
// ErrForbidden with a hint saying which.
func (c *Client) DownloadAssetToFile(ctx context.Context, id uuid.UUID, outDir string, opts DownloadOptions) (DownloadResult, error) {
	what := "downloading asset " + id.String()
	info, err := c.downloadAssetInfo(ctx, id, what, opts)
	if err != nil {
		return DownloadResult{}, err
	}
	var want []byte
	if !opts.SkipVerify && info.LibraryId == nil {
		if want, err = decodeChecksum(info.Checksum); err != nil {
			return DownloadResult{}, fmt.Errorf("%s: %w; use SkipVerify to download without verification", what, err)
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
// api.AssetMediaSizePreview or api.AssetMediaSizeFullsize) into folder outDir and returns where the
// file is and how it got there. The name is the server's Content-Disposition name
// ("IMG_1_preview.webp"), else "STEM_SIZE" with the extension of the content
// type the server sends (webp or jpeg). Streaming, .part, resume, naming and
// error rules are those of DownloadAssetToFile; there is no checksum to
// verify a rendition against.
func (c *Client) ViewAssetToFile(ctx context.Context, id uuid.UUID, outDir string, size api.AssetMediaSize, opts DownloadOptions) (DownloadResult, error) {
	what := fmt.Sprintf("downloading %s of asset %s", size, id)
	if size != "" && !size.Valid() {
		return DownloadResult{}, fmt.Errorf("%s: unknown size %q; use thumbnail, preview or fullsize", what, size)
	}
	info, err := c.downloadAssetInfo(ctx, id, what, opts)
	if err != nil {
		return DownloadResult{}, err
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
// outDir and returns where the file is and how it got there. The name is the stem of the
// asset's originalFileName with the extension of the content type. Streaming,
// .part, resume (Range), naming and error rules are those of
// DownloadAssetToFile; a transcoded video has no checksum to verify.
func (c *Client) PlayAssetVideoToFile(ctx context.Context, id uuid.UUID, outDir string, opts DownloadOptions) (DownloadResult, error) {
	what := "downloading video " + id.String()
	info, err := c.downloadAssetInfo(ctx, id, what, opts)
	if err != nil {
		return DownloadResult{}, err
	}
	if info.Type != api.AssetTypeEnumVIDEO {
		return DownloadResult{}, fmt.Errorf("%s: the asset is a %s, not a video; use DownloadAssetToFile", what, strings.ToLower(string(info.Type)))
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
// outDir and returns the zip files, in order. It asks the server
// how to split them (POST /download/info; see DownloadOptions.ArchiveSize),
// then streams each zip (POST /download/archive) through a fixed buffer into
// a .part file that becomes "immich-archive.zip" (or "immich-archive-N.zip"
// for several; see DownloadOptions.Filename) only when complete and, unless
// SkipVerify, readable as a zip. An archive is built on the fly by the
// server, so a cut connection restarts that zip from its start, within the
// Client's RetryPolicy. No zip is ever held in memory. On error the zips
// already written are returned with it.
func (c *Client) DownloadArchiveToDir(ctx context.Context, assetIDs []uuid.UUID, outDir string, opts DownloadOptions) ([]DownloadResult, error) {
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
	if err != nil {
		return nil, decorateDownloadError(err, what, opts.Key != "" || opts.Slug != "")
	}
	if r.JSON201 == nil {
		return nil, fmt.Errorf("%s: the server's answer to POST /download/info holds no archives", what)
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
	var results []DownloadResult
	for i, a := range archives {
		name := base + ".zip"
		if len(archives) > 1 {
			name = fmt.Sprintf("%s-%d.zip", base, i+1)
		}
		body, err := json.Marshal(api.AssetIdsDto{AssetIds: a.AssetIds})
		if err != nil {
			return results, fmt.Errorf("%s: %w", what, err)
		}
		res, err := c.fetchToDir(ctx, outDir, fetchSpec{
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
			return results, err
		}
		results = append(results, res)
	}
	return results, nil
}

// downloadAssetInfo gets the asset (GET /assets/{id}), for its name and
// checksum, with the shared link's key or slug when given.
func (c *Client) downloadAssetInfo(ctx context.Context, id uuid.UUID, what string, opts DownloadOptions) (*api.AssetResponseDto, error) {
	params := &api.GetAssetInfoParams{}
	params.Key, params.Slug = sharedLinkParams(opts)
	r, err := c.GetAssetInfoWithResponse(ctx, id, params)
	if err != nil {
		return nil, decorateDownloadError(err, what, opts.Key != "" || opts.Slug != "")
	}
	if r.JSON200 == nil {
		return nil, fmt.Errorf("%s: the server's answer to GET /assets/%s holds no asset", what, id)
	}
	return r.JSON200, nil
}

// decorateDownloadError prefixes err with what was being done and, for an
// *APIError, says whether the API key or the shared link was refused.
func decorateDownloadError(err error, what string, shared bool) error {
	var ae *APIError
	if !errors.As(err, &ae) {
		return fmt.Errorf("%s: %w", what, err)
	}
	switch {
	case ae.StatusCode == http.StatusUnauthorized && shared:
		ae.Hint = "the shared link was refused: check its key or slug (has the link expired or been removed?)"
	case ae.StatusCode == http.StatusUnauthorized:
		ae.Hint = "the API key or token was refused: check it is for this server and not revoked"
	case ae.StatusCode == http.StatusForbidden && shared:
		ae.Hint = "the shared link does not allow this: downloads may be disabled on it, or it does not hold this asset"
	case ae.StatusCode == http.StatusForbidden:
		ae.Hint = "the API key lacks the permission (asset.read, asset.download or asset.view), or the asset belongs to someone else"
	case errors.Is(ae, ErrNotFound) && shared:
		ae.Hint = "the asset is not in this shared link, or the link does not allow downloads"
	case errors.Is(ae, ErrNotFound):
		ae.Hint = "the server has no such asset, or this API key may not see it (check the id)"
	}
	return fmt.Errorf("%s: %w", what, ae)
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

// DownloadResult is where a download helper put a file, and how.
type DownloadResult struct {
	// Path is the file: the target folder joined with its final name.
	Path string
	// Outcome is StatusDownloaded, StatusRenamed (downloaded under a
	// numbered name, as another file held the name) or StatusPresent (a
	// file there already held these bytes; nothing was written).
	Outcome Status
}

// fetchToDir downloads spec into outDir.
func (c *Client) fetchToDir(ctx context.Context, outDir string, spec fetchSpec, opts DownloadOptions) (DownloadResult, error) {
	if outDir == "" {
		outDir = "."
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return DownloadResult{}, fmt.Errorf("%s: creating the target folder: %w", spec.what, err)
	}
	root, err := os.OpenRoot(outDir)
	if err != nil {
		return DownloadResult{}, fmt.Errorf("%s: opening the target folder: %w", spec.what, err)
	}
	defer root.Close()
	prog := progressOrNop(opts.Progress)

	if spec.sha1 != nil && spec.guess != "" && !opts.Overwrite {
		name, err := findSame(root, spec.guess, spec.sha1)
		if err != nil {
			return DownloadResult{}, fmt.Errorf("%s: %w", spec.what, err)
		}
		if name != "" {
			p := filepath.Join(outDir, name)
			if fi, err := root.Lstat(name); err == nil {
				prog.Start(p, fi.Size())
			}
			prog.Done(p, StatusPresent, nil)
			return DownloadResult{Path: p, Outcome: StatusPresent}, nil
		}
	}

	t := &transfer{c: c, spec: spec, root: root, outDir: outDir, prog: prog, overwrite: opts.Overwrite,
		buf: make([]byte, downloadBufferSize), hash: sha1.New(), total: -1}
	res, err := t.runAll(ctx)
	if err != nil {
		t.discard()
		if t.started {
			prog.Done(t.progressPath(), StatusFailed, err)
		}
		return DownloadResult{}, err
	}
	prog.Done(res.Path, res.Outcome, nil)
	return res, nil
}

// transfer is the state of one download: the .part file and how much of it
// is written.
type transfer struct {
	c         *Client
	spec      fetchSpec
	root      *os.Root
	outDir    string
	prog      Progress
	overwrite bool
	buf       []byte

	name      string // the name chosen from the first answer
	key       string // the name Progress knows it by: the first free one of name, "name (1)", ...
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
	flushed   int64  // part[:flushed] was handed to startWriteback
}

// writebackChunk is how many written bytes are handed to the disk at a
// time while a download runs (startWriteback).
const writebackChunk = 8 << 20

// runAll downloads, verifies, syncs and places the file; on a checksum
// mismatch after a resumed transfer it starts over once, in case the resume
// joined two versions of the file.
func (t *transfer) runAll(ctx context.Context) (DownloadResult, error) {
	for try := 0; ; try++ {
		if err := t.run(ctx); err != nil {
			return DownloadResult{}, err
		}
		err := t.verify()
		if err == nil {
			break
		}
		if errors.Is(err, ErrChecksumMismatch) && t.resumed && try == 0 {
			t.c.logger.Debug("checksum mismatch after resume; starting over", "path", t.spec.path)
			if err := t.restart(); err != nil {
				return DownloadResult{}, err
			}
			continue
		}
		return DownloadResult{}, err
	}
	if err := t.part.Sync(); err != nil {
		return DownloadResult{}, fmt.Errorf("%s: syncing %s: %w", t.spec.what, t.partName, err)
	}
	if err := t.part.Close(); err != nil {
		t.part = nil
		return DownloadResult{}, fmt.Errorf("%s: closing %s: %w", t.spec.what, t.partName, err)
	}
	t.part = nil
	final, outcome, err := t.place()
	if err != nil {
		return DownloadResult{}, fmt.Errorf("%s: %w", t.spec.what, err)
	}
	syncDir(t.root)
	return DownloadResult{Path: filepath.Join(t.outDir, final), Outcome: outcome}, nil
}

// errResume marks a failure after which the transfer goes on: the body was
// cut or the server's range did not fit, and the next attempt resumes or
// starts over.
type errResume struct{ err error }

func (e *errResume) Error() string { return e.err.Error() }
func (e *errResume) Unwrap() error { return e.err }

// run makes attempts until the whole body is in the .part file. Getting an
// answer is retried by Client.Do under the RetryPolicy; run goes on after
// a body that was cut, resuming it, and MaxAttempts counts the consecutive
// attempts that added no byte.
func (t *transfer) run(ctx context.Context) error {
	attempts := t.c.retry.attempts()
	fails := 0
	for {
		before := t.off
		err := t.attempt(ctx)
		if err == nil {
			return nil
		}
		var re *errResume
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
		wait := t.c.retry.backoff(fails, nil)
		t.c.logger.Debug("download interrupted; resuming", "path", t.spec.path, "error", re.err,
			"have", t.off, "attempt", fails, "wait", wait)
		if err := sleep(ctx, wait); err != nil {
			return fmt.Errorf("%s: %w", t.spec.what, err)
		}
	}
}

// attempt sends one request through Client.Do and appends its body to the
// .part file.
func (t *transfer) attempt(ctx context.Context) error {
	req, err := t.request(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", t.spec.what, err)
	}
	resp, err := t.c.Do(req, t.spec.op)
	var ae *APIError
	if errors.As(err, &ae) && ae.StatusCode == http.StatusRequestedRangeNotSatisfiable {
		if err := t.restart(); err != nil {
			return err
		}
		return &errResume{err: errors.New("the server refused to resume (416); starting over")}
	}
	if err != nil {
		return decorateDownloadError(err, t.spec.what, t.spec.query.Has("key") || t.spec.query.Has("slug"))
	}
	defer resp.Body.Close()
	if err := t.accept(resp); err != nil {
		return err
	}
	return t.copyBody(resp.Body)
}

// request builds the next attempt's request: a Range request from the
// bytes already in the .part file when the transfer resumes.
func (t *transfer) request(ctx context.Context) (*http.Request, error) {
	var body io.Reader
	if t.spec.body != nil {
		body = bytes.NewReader(t.spec.body)
	}
	req, err := t.c.NewRequest(ctx, t.spec.method, t.spec.path, t.spec.query, body)
	if err != nil {
		return nil, err
	}
	if t.spec.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	// Bytes as stored: no transparent gunzip, so ranges and sizes line up.
	req.Header.Set("Accept-Encoding", "identity")
	if t.spec.resume && t.off > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(t.off, 10)+"-")
		if t.validator != "" {
			req.Header.Set("If-Range", t.validator)
		}
	}
	return req, nil
}

// accept checks a 2xx answer against what the .part file holds, starting
// over when the server sent the whole file or a range that does not fit;
// on the first answer it opens the .part file and tells Progress.
func (t *transfer) accept(resp *http.Response) error {
	switch resp.StatusCode {
	case http.StatusOK:
		if t.off > 0 {
			// The server sent the whole file: the If-Range validator no
			// longer matches, or it ignores ranges. Start over with it.
			if err := t.restart(); err != nil {
				return err
			}
		}
	case http.StatusPartialContent:
		start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		etag := resp.Header.Get("ETag")
		if !ok || start != t.off || (t.total >= 0 && total != t.total) || (t.etag != "" && etag != "" && etag != t.etag) {
			drain(resp.Body)
			if err := t.restart(); err != nil {
				return err
			}
			return &errResume{err: fmt.Errorf("the server answered range %q for a request from byte %d; starting over", resp.Header.Get("Content-Range"), t.off)}
		}
		if t.off > 0 {
			t.resumed = true
		}
		t.total = total
	default:
		return fmt.Errorf("%s: unexpected answer %d %s", t.spec.what, resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	if t.part == nil {
		if err := t.openPart(resp.Header); err != nil {
			return err
		}
	}
	if t.off == 0 {
		t.begin(resp)
	}
	return nil
}

// begin records the size and validators of a transfer that starts at byte
// 0, and announces the file to Progress the first time.
func (t *transfer) begin(resp *http.Response) {
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
		t.prog.Start(t.progressPath(), size)
		t.started = true
	}
}

// copyBody appends body to the .part file through the transfer's buffer,
// hashing the bytes and reporting them to Progress.
func (t *transfer) copyBody(body io.Reader) error {
	for {
		n, rerr := body.Read(t.buf)
		if n > 0 {
			if _, err := t.part.Write(t.buf[:n]); err != nil {
				return fmt.Errorf("%s: writing %s: %w", t.spec.what, filepath.Join(t.outDir, t.partName), err)
			}
			t.hash.Write(t.buf[:n])
			t.off += int64(n)
			if t.flushed > t.off { // started over
				t.flushed = 0
			}
			if t.off-t.flushed >= writebackChunk {
				startWriteback(t.part, t.flushed, t.off-t.flushed)
				t.flushed = t.off
			}
			if t.off > t.reported {
				t.prog.Add(t.progressPath(), t.off-t.reported)
				t.reported = t.off
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return &errResume{err: fmt.Errorf("connection lost after %d bytes: %w", t.off, rerr)}
		}
	}
	if t.total >= 0 && t.off != t.total {
		return &errResume{err: fmt.Errorf("body ended after %d of %d bytes: %w", t.off, t.total, io.ErrUnexpectedEOF)}
	}
	return nil
}

// progressPath is the path Progress knows the download by.
func (t *transfer) progressPath() string { return filepath.Join(t.outDir, t.key) }

// openPart chooses the final name from the first answer and the name
// Progress knows the file by (the first free one of name, "name (1)", ...:
// where it lands unless another download takes that name meanwhile), and
// creates the .part file, exclusively: a .part another download is
// writing (or an interrupted run left) is never touched; "NAME.1.part",
// ... are used then.
func (t *transfer) openPart(h http.Header) error {
	t.name = t.spec.nameFor(h)
	if t.name == "" {
		return fmt.Errorf("%s: no usable file name", t.spec.what)
	}
	t.key = t.name
	for i := 1; !t.overwrite && i < maxNumberedNames; i++ {
		if _, err := t.root.Lstat(t.key); errors.Is(err, fs.ErrNotExist) {
			break
		}
		t.key = numberedName(t.name, i)
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
// replacing a file unless overwrite: the first of name, "name (1)", ...
// that is free, unless one before it holds the same bytes (then that one,
// StatusPresent, and the .part is removed).
func (t *transfer) place() (string, Status, error) {
	if t.overwrite {
		if err := t.root.Rename(t.partName, t.name); err != nil {
			return "", "", fmt.Errorf("renaming %s to %s: %w", t.partName, t.name, err)
		}
		t.partName = ""
		return t.name, StatusDownloaded, nil
	}
	sum := t.hash.Sum(nil)
	for i := 0; i < maxNumberedNames; i++ {
		name, outcome := t.name, StatusDownloaded
		if i > 0 {
			name, outcome = numberedName(t.name, i), StatusRenamed
		}
		err := PlaceFile(t.root, t.partName, name)
		if err == nil {
			t.partName = ""
			return name, outcome, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", "", err
		}
		same, err := sameFile(t.root, name, t.off, sum)
		if err != nil {
			return "", "", err
		}
		if same {
			t.discard()
			return name, StatusPresent, nil
		}
	}
	return "", "", fmt.Errorf("%s and %d numbered names are all taken in %s", t.name, maxNumberedNames-1, t.outDir)
}

// PlaceFile gives the complete file from (in root) the name to, atomically
// and only when to does not exist: otherwise it returns an error matching
// fs.ErrExist and leaves both files as they are. It makes a hard link,
// which fails if the name is taken, then removes from. Where hard links
// are not supported (FAT, some network shares) it checks that to is free,
// then renames: only a concurrent writer of the same name can race then.
// from should be complete and synced: to is never a half-written file.
func PlaceFile(root *os.Root, from, to string) error {
	err := root.Link(from, to)
	if err == nil {
		if err := root.Remove(from); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing %s after linking it to %s: %w", from, to, err)
		}
		return nil
	}
	if errors.Is(err, fs.ErrExist) {
		return err
	}
	if _, serr := root.Lstat(to); serr == nil {
		return fmt.Errorf("%s: %w", to, fs.ErrExist)
	} else if !errors.Is(serr, fs.ErrNotExist) {
		return serr
	}
	if err := root.Rename(from, to); err != nil {
		return fmt.Errorf("renaming %s to %s: %w", from, to, err)
	}
	return nil
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
