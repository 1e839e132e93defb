package wrapper

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/goimmich/goimmich/api"
)

// DefaultUploadConcurrency is the number of files uploaded at once when
// UploadOptions.Concurrency is zero.
const DefaultUploadConcurrency = 5

const (
	// checkBatchSize is the most checksums sent in one bulk-upload-check.
	checkBatchSize = 500
	// checkFlushDelay is how long a partial batch waits for more checksums.
	checkFlushDelay = 100 * time.Millisecond
	// checkConcurrency bounds bulk-upload-check calls in flight.
	checkConcurrency = 2
	// deviceID is sent as deviceId to servers that require it (2.x).
	deviceID = "goimmich"
)

// SidecarPolicy says whether XMP sidecars go up with their media file.
type SidecarPolicy int

const (
	// SidecarsOn (the default) sends "x.jpg.xmp", or else "x.xmp", next to
	// x.jpg as the asset's sidecarData.
	SidecarsOn SidecarPolicy = iota
	// SidecarsOff sends media files alone.
	SidecarsOff
)

// UploadOptions configures Upload. The zero value uploads with
// DefaultUploadConcurrency, duplicate checks and sidecars, and deletes
// nothing.
type UploadOptions struct {
	// Ignore lists doublestar globs (github.com/bmatcuk/doublestar) of files
	// and folders to skip while walking folders. A pattern without "/"
	// matches a base name at any depth ("*.tmp", "@eaDir"); one with "/"
	// matches the path relative to the folder named in paths ("raw/**") or
	// the whole path. Files named explicitly in paths are never ignored.
	Ignore []string
	// IncludeHidden walks into hidden files and folders (name starting with
	// "."). A hidden file named explicitly is always taken.
	IncludeHidden bool
	// SkipDuplicateCheck skips hashing and bulk-upload-check: every file is
	// sent, and the server still answers "duplicate" for content it has.
	SkipDuplicateCheck bool
	// Concurrency is the number of files uploaded at once (default 5).
	// Hashing uses all cores (GOMAXPROCS) independently of it.
	Concurrency int
	// AlbumName adds every uploaded or duplicate asset to the album of that
	// name, created when missing. It wins over AlbumPerFolder.
	AlbumName string
	// AlbumPerFolder adds each asset to an album named after its file's
	// folder (the base name), created when missing.
	AlbumPerFolder bool
	// DeleteUploaded deletes a local file after the server confirmed it
	// created its asset (never on failure, never in DryRun, never when the
	// file changed since it was scanned). Sidecars are kept.
	DeleteUploaded bool
	// DeleteDuplicates deletes a local file the server confirmed it already
	// has (a duplicate with an asset id that is not in the trash).
	DeleteDuplicates bool
	// RestoreTrashed restores from the trash the server's assets that local
	// files duplicate. Without it they are reported in Rejected as
	// duplicates with Trashed set, left in the trash, not added to albums
	// and never deleted locally.
	RestoreTrashed bool
	// DryRun asks the server the real questions (media types, duplicates,
	// existing albums) and changes nothing: no upload, album, restore or
	// local delete. Files that would be uploaded are listed in Uploaded
	// with the nil UUID as asset id, and UploadResult.DryRun is true.
	DryRun bool
	// Visibility, when not empty, is sent as each new asset's visibility
	// ("timeline", "archive", "hidden", "locked").
	Visibility api.AssetVisibility
	// Sidecars says whether XMP sidecars are sent (default SidecarsOn).
	Sidecars SidecarPolicy
	// NonRecursive takes only the files directly in each folder named in
	// paths, as the official CLI does without --recursive; subfolders are
	// not entered. The zero value walks folders recursively.
	NonRecursive bool
	// HashCache configures the local cache of file checksums and of what
	// the server confirmed (see HashCacheOptions). It is OFF unless
	// HashCache.Path is set: Upload then writes nothing to disk but the
	// deletes it is asked for. With it, a re-run reads no unchanged file,
	// and still asks the server about every checksum in batches unless
	// RecheckAfter is set. With DeleteUploaded or DeleteDuplicates every
	// file is hashed fresh (cached checksums are never trusted before
	// deleting a local file); the fresh checksums are still stored. Unused
	// with SkipDuplicateCheck (nothing is hashed then).
	HashCache HashCacheOptions
	// SkipServerDeleted does not upload again a file whose asset was
	// deleted for good on this server since this client saw the server
	// confirm it (the hash cache's confirmations for this server and user;
	// a bulk-upload-check that now answers "accept" says the asset is
	// gone, not only trashed). Such a file is Rejected as server_deleted,
	// and its confirmation is kept so later runs skip it too. A file whose
	// duplicate is in the trash is reported as today, and its confirmation
	// is kept as well. Needs HashCache.Path; without the option, a file
	// deleted on the server is uploaded again.
	SkipServerDeleted bool
	// OnFile, when set, is called once for every input file, with its
	// final outcome (after albums and deletes), in scan order, from the
	// goroutine that called Upload; the lists Uploaded, Rejected and
	// Failed of the UploadResult then stay empty (Stats still count), so
	// the result does not grow with the number of files.
	OnFile func(FileOutcome)
	// Progress observes the run; nil means none.
	Progress Progress
	// ShowProgress, when Progress is nil, draws mpb progress bars
	// (NewBarProgress) on ProgressOutput (os.Stderr when nil).
	ShowProgress bool
	// ProgressOutput is where ShowProgress draws.
	ProgressOutput io.Writer
}

// RejectReason says why the server did not take a file.
type RejectReason string

const (
	// RejectDuplicate: the server already has an asset with this content.
	RejectDuplicate RejectReason = "duplicate"
	// RejectUnsupportedFormat: the file is not a media type the server
	// accepts (only for files named explicitly).
	RejectUnsupportedFormat RejectReason = "unsupported_format"
	// RejectServerDeleted: the server confirmed this content to this
	// client before, and its asset has since been deleted there for good;
	// with UploadOptions.SkipServerDeleted it is not uploaded again.
	RejectServerDeleted RejectReason = "server_deleted"
)

// UploadedFile is a file whose asset the server created.
type UploadedFile struct {
	// Asset is the server's answer (status "created"; "duplicate" when a
	// retry found the asset its own lost first attempt had created).
	Asset    api.AssetMediaResponseDto `json:"asset"`
	Filepath string                    `json:"filepath"`
	// Sidecar is the sidecar file sent with it, if any.
	Sidecar string `json:"sidecar,omitempty"`
	// Bytes is the file's size.
	Bytes int64 `json:"bytes"`
	// Deleted says the local file was deleted (DeleteUploaded).
	Deleted bool `json:"deleted,omitempty"`
}

// RejectedFile is a file the server did not take.
type RejectedFile struct {
	Filepath string `json:"filepath"`
	// AssetID is the server's asset with the same content (duplicates), or
	// nil.
	AssetID *string      `json:"asset_id"`
	Reason  RejectReason `json:"reason"`
	// Trashed says the server's duplicate is in the trash (and will be
	// deleted with it unless restored).
	Trashed bool `json:"trashed,omitempty"`
	// Restored says RestoreTrashed took it out of the trash.
	Restored bool `json:"restored,omitempty"`
	// Deleted says the local file was deleted (DeleteDuplicates).
	Deleted bool `json:"deleted,omitempty"`
}

// FailedFile is a file that did not make it, with the reason.
type FailedFile struct {
	Filepath string `json:"filepath"`
	Error    string `json:"error"`
	// Err is the error itself, for errors.Is/As.
	Err error `json:"-"`
}

// UploadStats counts the lists of an UploadResult.
type UploadStats struct {
	// Total is Uploaded + Rejected + Failed: every input file once.
	Total    int `json:"total"`
	Uploaded int `json:"uploaded"`
	Rejected int `json:"rejected"`
	Failed   int `json:"failed"`
	// BytesUploaded sums the sizes of the uploaded files.
	BytesUploaded int64 `json:"bytes_uploaded"`
	// DurationMS is the wall time of the run.
	DurationMS int64 `json:"duration_ms"`
	// HashCacheHits counts files whose checksum came from the hash cache
	// instead of reading them (UploadOptions.HashCache).
	HashCacheHits int `json:"hash_cache_hits,omitempty"`
	// ChecksSkipped counts files reported as duplicates from the cache's
	// recent server confirmations without asking the server
	// (HashCacheOptions.RecheckAfter).
	ChecksSkipped int `json:"checks_skipped,omitempty"`
}

// UploadResult tells what happened to every input file: each is in exactly
// one of Uploaded, Rejected and Failed (unless UploadOptions.OnFile took
// them). Its JSON form keeps the keys of the immichpy seed (uploaded,
// rejected, failed, stats) and adds fields.
//
// Memory: each listed file costs one list entry (80 bytes for an uploaded
// file, about 110 for a duplicate, whose asset id is text, plus the message
// of a failure) and its path (a file named in paths shares it with the
// scan; one found in a folder gets its own). The run's own
// bookkeeping (see Upload) is freed when Upload returns. For huge trees,
// set UploadOptions.OnFile and write the outcomes out as they come: the
// lists then stay empty.
type UploadResult struct {
	Uploaded []UploadedFile `json:"uploaded"`
	Rejected []RejectedFile `json:"rejected"`
	Failed   []FailedFile   `json:"failed"`
	Stats    UploadStats    `json:"stats"`
	// Albums reports each album touched, as the server answered.
	Albums []AlbumResult `json:"albums,omitempty"`
	// DeleteErrors lists local files that should have been deleted but were
	// not (they stay on disk).
	DeleteErrors []FailedFile `json:"delete_errors,omitempty"`
	// DryRun says nothing was changed.
	DryRun bool `json:"dry_run,omitempty"`
}

// FileStatus is the list of an UploadResult a file is in.
type FileStatus string

const (
	// FileUploaded: the server created the file's asset (UploadedFile).
	FileUploaded FileStatus = "uploaded"
	// FileRejected: not taken, for its RejectReason (RejectedFile).
	FileRejected FileStatus = "rejected"
	// FileFailed: it did not make it; Err says why (FailedFile).
	FileFailed FileStatus = "failed"
)

// FileOutcome is the final word on one input file, as UploadOptions.OnFile
// receives it; UploadResult's lists hold the same facts.
type FileOutcome struct {
	Path string
	// Sidecar is the sidecar sent with it, if any; Bytes the file's size
	// (0 for files that were not scanned).
	Sidecar string
	Bytes   int64
	Status  FileStatus
	// Reason says why a rejected file was not taken.
	Reason RejectReason
	// AssetID is the asset the server created (uploaded), or its asset with
	// the same content (duplicate); uuid.Nil when none, and for files a
	// DryRun would upload.
	AssetID uuid.UUID
	// AnsweredDuplicate says an uploaded file's (retried) upload was
	// answered "duplicate": its own lost first attempt had created the
	// asset.
	AnsweredDuplicate bool
	// Trashed, Restored and Deleted: as in RejectedFile and UploadedFile.
	Trashed, Restored, Deleted bool
	// Err is why it failed.
	Err error
}

// Upload sends the media files in paths (files and folders, walked
// recursively unless NonRecursive) to the server, each at most once, and
// says what happened to every file.
//
// Steps: check that the server is Immich (GET /server/ping), a supported
// release (ServerVersion), and accepts the credentials (GET /users/me); an
// API key must hold the permissions the options need (GET /api-keys/me:
// asset.upload, plus album.read and albumAsset.create for albums and
// asset.delete for RestoreTrashed), else Upload fails before reading any
// file. Then it asks which extensions the server takes (GET
// /server/media-types, or DefaultMediaTypes when that fails); scans (see
// UploadOptions.Ignore, IncludeHidden: files found by walking that are not
// media are skipped silently, files named explicitly that are not media are
// Rejected as unsupported_format); hashes files with SHA-1 on all cores (an
// unchanged file's checksum comes from the hash cache instead, see
// UploadOptions.HashCache), pipelined with POST /assets/bulk-upload-check
// in batches of 500, while Concurrency uploads run; then albums, then local
// deletes. A file of 64 MiB or more whose checksum the cache lacks is not
// waited for: it goes up at once while it is hashed and checked on its
// own, and a duplicate found while the file is still being sent stops its
// upload (not in a DryRun, nor with DeleteUploaded, DeleteDuplicates or
// SkipServerDeleted, which need the check's answer first). Such an upload
// has no x-immich-checksum header, and files of the run with its content
// are not matched with it (the server answers duplicate for them).
//
// Each upload is a multipart body streamed from the file with an exact
// Content-Length and an x-immich-checksum header; fileCreatedAt and
// fileModifiedAt are the file's modification time in UTC ("Z"; Go has no
// portable birth time). The form follows the server's major release: 2.x
// gets deviceAssetId and deviceId (it requires them) and duration
// "0:00:00.000000"; 3.x gets neither device field (it dropped them) and
// duration "0" (milliseconds). When the version cannot be read, the device
// fields are sent and duration is not.
//
// Duplicates: a file whose content the server has is Rejected as duplicate
// with the asset id; files in the run with the same content are uploaded
// once and the others are Rejected as duplicates of it. A duplicate in the
// server's trash is reported with Trashed set and left alone (restoring it
// would undo the user's deletion, and uploading again is impossible since
// the server deduplicates by checksum); RestoreTrashed restores it instead.
//
// Memory: bounded by Concurrency and GOMAXPROCS, not by file sizes: one
// 256 KiB buffer per hashing core, the body of an upload of at most 64 KiB
// (a small file is sent from memory, in one write) or a few KiB of
// multipart headers, and the HTTP transport's buffers per upload, plus,
// while Upload runs, about 110 bytes of bookkeeping per scanned file and
// its name's bytes (a 96-byte record without pointers, a slot of 8 to 16
// bytes in the checksum index; the names of a folder's files are one
// string, and a failed file's error is kept apart), and the result (see
// UploadResult, and OnFile to keep it small). The hash cache's file is
// memory-mapped; only the pages of the last lookups stay resident. With
// HashCache.RecheckAfter, up to 65,536 files at a time wait half a second
// for their confirmations to be looked up together (about 70 bytes each).
//
// Retries and stalls follow the Client's RetryPolicy; there is no total
// timeout. Errors of single files never stop the run: they are listed in
// Failed. Upload returns a non-nil error only when nothing could be
// attempted: bad options, server unreachable, not Immich, too old
// (ErrServerTooOld), credentials rejected (ErrUnauthorized) or lacking a
// permission (ErrForbidden, *PermissionError); the error says which and
// what to do. When ctx is cancelled, Upload stops promptly and returns the
// partial result (files not finished are in Failed with the context's
// error), skipping albums and deletes; no goroutine it started outlives it.
func (c *Client) Upload(ctx context.Context, paths []string, opts UploadOptions) (*UploadResult, error) {
	r, err := c.newUploadRun(ctx, paths, opts)
	if err != nil {
		return nil, err
	}
	if r.bars != nil {
		defer r.bars.Wait()
	}
	hc := c.openHashCache(opts)
	defer c.closeHashCache(hc) // after every stage below: none uses it then
	r.cache = serverCache{hc: hc, server: c.baseURL.String(), user: r.srv.userID, refresh: opts.HashCache.RecheckAfter / 2}

	r.scanFiles(ctx, paths)
	r.pipeline(ctx)
	r.settleLeftovers(ctx)
	r.confirmAnswers() // also when cancelled: the answers came

	if ctx.Err() == nil && !opts.DryRun && len(opts.Ignore) == 0 {
		r.pruneHashCache()
	}
	res := &UploadResult{DryRun: opts.DryRun}
	if ctx.Err() == nil {
		if opts.RestoreTrashed && !opts.DryRun {
			r.restoreTrashed(ctx)
		}
		if opts.AlbumName != "" || opts.AlbumPerFolder {
			res.Albums = r.updateAlbums(ctx)
		}
		if !opts.DryRun && (opts.DeleteUploaded || opts.DeleteDuplicates) {
			res.DeleteErrors = r.deleteConfirmed(ctx)
		}
	}
	r.report(res)
	return res, nil
}

// uploadRun is one call of Upload: what it was asked, what the server said
// before the work started, and every scanned file with its outcome. Its
// stages are its methods, called in the order Upload shows.
type uploadRun struct {
	c     *Client
	opts  UploadOptions
	start time.Time
	srv   serverInfo
	form  uploadForm
	prog  Progress
	bars  *BarProgress // drawn by the run itself (ShowProgress), or nil
	cache serverCache

	// scan holds the scanned media files, in scan order (r.file), and
	// their paths.
	scan scanResult

	errMu sync.Mutex
	errs  map[int32]error // of failed files, by index in files
}

// serverInfo is what Upload learns before it starts.
type serverInfo struct {
	media   MediaTypes
	userID  string
	version Version // zero when unknown
}

// fileRun is one scanned media file on its way through the run. Each is
// written by one goroutine at a time (the stage holding its index) and
// read by the stages after the pipeline.
type fileRun struct {
	scannedFile
	out    fileState
	sum    Checksum
	leader int32 // index of an earlier file with the same checksum, or -1
	hashed bool
	// cacheHit: the checksum came from the hash cache.
	cacheHit bool
	// checkSkipped: a duplicate by a recent confirmation in the cache,
	// without asking the server.
	checkSkipped bool
	accepted     bool // bulk-upload-check said accept
	// confirmLater: the server named the file's asset (out.assetID):
	// bulk-upload-check found a duplicate not in the trash, or the file was
	// uploaded; the cache records it after the pipeline (confirmAnswers).
	confirmLater bool
	// speculative: a big file the cache had no checksum for, uploaded at
	// once while it is hashed and checked (uploadSpeculative).
	speculative bool
}

// outcome is what became of one file: its state, and for a failed file
// the error.
type outcome struct {
	fileState
	err error
}

// fileState is what became of one file, without its error; the zero value
// is pending. It is kept for every file of the run, so its status and
// reason are one byte each (statusCode, reasonCode) rather than their
// strings, and errors, rare, are kept apart (uploadRun.errs).
type fileState struct {
	assetID uuid.UUID // created, or the server's copy of a duplicate
	status  statusCode
	reason  reasonCode // of a rejected file
	// answeredDup: uploaded, and the (retried) upload answered duplicate.
	answeredDup       bool
	trash             trashState // of a duplicate's asset
	restored, deleted bool
}

// statusCode is a FileStatus in one byte; the zero value is pending.
type statusCode uint8

const (
	pending statusCode = iota
	uploaded
	rejected
	failed
)

// FileStatus is s as the API names it ("" while pending).
func (s statusCode) FileStatus() FileStatus {
	return [...]FileStatus{"", FileUploaded, FileRejected, FileFailed}[s]
}

// reasonCode is a RejectReason in one byte.
type reasonCode uint8

const (
	noReason reasonCode = iota
	duplicate
	unsupportedFormat
	serverDeleted
)

// RejectReason is r as the API names it.
func (r reasonCode) RejectReason() RejectReason {
	return [...]RejectReason{"", RejectDuplicate, RejectUnsupportedFormat, RejectServerDeleted}[r]
}

// trashState says whether a duplicate's asset is in the server's trash.
type trashState uint8

const (
	trashUnknown trashState = iota // the server did not say
	notTrashed
	inTrash
)

func trashOf(isTrashed *bool) trashState {
	switch {
	case isTrashed == nil:
		return trashUnknown
	case *isTrashed:
		return inTrash
	}
	return notTrashed
}

func uploadedAs(id uuid.UUID, answeredDup bool) outcome {
	return outcome{fileState: fileState{status: uploaded, assetID: id, answeredDup: answeredDup}}
}

func duplicateOf(id uuid.UUID, t trashState) outcome {
	return outcome{fileState: fileState{status: rejected, reason: duplicate, assetID: id, trash: t}}
}

func failure(err error) outcome { return outcome{fileState: fileState{status: failed}, err: err} }

// liveDuplicate reports whether o is a duplicate whose asset is not known to be in
// the trash.
func (o *fileState) liveDuplicate() bool {
	return o.status == rejected && o.reason == duplicate && o.trash != inTrash
}

// progressStatus is o's status as Progress.Done names it.
func (o *fileState) progressStatus() Status {
	switch {
	case o.status == rejected && o.reason == duplicate:
		return StatusDuplicate
	case o.status == pending:
		return StatusFailed
	}
	return Status(o.status.FileStatus())
}

// settle records o as file i's outcome and tells the observer.
func (r *uploadRun) settle(i int, o outcome) {
	fr := r.file(i)
	fr.out = o.fileState
	if o.err != nil {
		r.errMu.Lock()
		if r.errs == nil {
			r.errs = make(map[int32]error)
		}
		r.errs[int32(i)] = o.err
		r.errMu.Unlock()
	}
	r.prog.Done(r.path(fr), o.progressStatus(), o.err)
}

// file is the run's file i.
func (r *uploadRun) file(i int) *fileRun { return r.scan.files.at(i) }

// nfiles is the number of the run's files.
func (r *uploadRun) nfiles() int { return r.scan.files.len() }

// path is fr's path.
func (r *uploadRun) path(fr *fileRun) string { return r.scan.path(&fr.scannedFile) }

// errOf is the error file i failed with, or nil.
func (r *uploadRun) errOf(i int) error {
	if r.file(i).out.status != failed {
		return nil
	}
	r.errMu.Lock()
	defer r.errMu.Unlock()
	return r.errs[int32(i)]
}

// newUploadRun checks the options and the server, and sets up the run's
// observer. Its errors are Upload's.
func (c *Client) newUploadRun(ctx context.Context, paths []string, opts UploadOptions) (*uploadRun, error) {
	r := &uploadRun{c: c, opts: opts, start: time.Now()}
	if len(paths) == 0 {
		return nil, errors.New("wrapper: Upload needs at least one file or folder")
	}
	if err := validateIgnores(opts.Ignore); err != nil {
		return nil, err
	}
	if opts.SkipServerDeleted && (opts.HashCache.Path == "" || opts.SkipDuplicateCheck) {
		return nil, errors.New("wrapper: SkipServerDeleted needs the hash cache's memory of what the server confirmed: set HashCache.Path, and do not set SkipDuplicateCheck")
	}
	srv, err := c.preflight(ctx, opts)
	if err != nil {
		return nil, err
	}
	r.srv, r.form = srv, formFor(srv.version, opts.Visibility)
	r.prog = opts.Progress
	if r.prog == nil && opts.ShowProgress {
		out := opts.ProgressOutput
		if out == nil {
			out = os.Stderr
		}
		r.bars = NewBarProgress(out)
		r.prog = r.bars
	}
	r.prog = progressOrNop(r.prog)
	return r, nil
}

// scanFiles walks paths and makes the run's file list; explicitly named
// non-media files and unreadable paths are settled now.
func (r *uploadRun) scanFiles(ctx context.Context, paths []string) {
	sc := &scanner{
		media:         newExtSet(r.srv.media.Image, r.srv.media.Video),
		ignore:        r.opts.Ignore,
		includeHidden: r.opts.IncludeHidden,
		withSidecars:  r.opts.Sidecars == SidecarsOn,
		flat:          r.opts.NonRecursive,
	}
	r.scan = sc.scan(ctx, paths)
	var total int64
	for i := range r.nfiles() {
		total += r.file(i).size()
	}
	r.prog.Total(r.nfiles()+len(r.scan.unsupported)+len(r.scan.failed), total)
	for _, p := range r.scan.unsupported {
		r.prog.Done(p, "rejected", nil)
	}
	for _, f := range r.scan.failed {
		r.prog.Done(f.Filepath, "failed", f.Err)
	}
}
