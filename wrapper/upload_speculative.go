package wrapper

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"

	"github.com/goimmich/goimmich/api"
)

// speculateMin is the size from which a file the hash cache has no
// checksum for is uploaded at once, while it is hashed and checked, rather
// than after: hashing 64 MiB takes tens of milliseconds, hashing a 4 GiB
// video tens of seconds on a NAS disk, and that wait is saved. If the file
// turns out to be on the server, the bytes sent meanwhile are wasted; the
// upload is stopped as soon as the check says so.
var speculateMin int64 = 64 << 20

// speculates reports whether f goes up while it is hashed: a big file, in
// a run that checks for duplicates and neither deletes local files nor
// rejects what the server deleted (those need the check's answer before
// the upload), and that is not a dry run.
func (r *uploadRun) speculates(f *scannedFile) bool {
	o := &r.opts
	return f.size() >= speculateMin && !o.SkipDuplicateCheck && !o.DryRun &&
		!o.DeleteUploaded && !o.DeleteDuplicates && !o.SkipServerDeleted
}

// errFoundOnServer stops a speculative upload whose file bulk-upload-check
// found on the server.
var errFoundOnServer = errors.New("the server already has this file")

// speculation is what the hashing and checking of a speculative upload
// learned.
type speculation struct {
	sum      Checksum
	hashed   bool
	accepted bool     // bulk-upload-check said accept
	dup      *outcome // bulk-upload-check found the file on the server
}

// uploadSpeculative sends file i, whose checksum is not known yet, at
// once, and meanwhile hashes it and asks bulk-upload-check about it.
//
// A duplicate found before the file has been read whole into the body
// (the server cannot have made an asset of it yet) stops the upload, and
// the file is reported as that duplicate. Found later, it may be this
// upload's own asset, and the upload's answer is awaited. A created
// answer stands and ends the check; a duplicate answer takes the check's
// word on the trash; a failed upload is reported as the duplicate the
// check found, if it found one (a proxy's 413, say, for a file the server
// already has). The checksum goes to the cache as after any upload.
func (r *uploadRun) uploadSpeculative(ctx context.Context, i int) {
	fr := r.file(i)
	path := r.path(fr)
	size := fr.size()
	// sctx ends the upload when the check finds the file first; cctx ends
	// the check once a created answer makes it moot (not the hashing:
	// its checksum goes to the cache).
	sctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	cctx, endCheck := context.WithCancel(ctx)
	defer endCheck()
	var sent atomic.Int64
	var spec speculation
	checked := make(chan struct{})
	go func() {
		defer close(checked)
		key, keyed := r.cacheKey(&fr.scannedFile, path, absPaths())
		sum, _, err := hashFile(ctx, path, nil)
		if err != nil {
			return
		}
		if keyed {
			r.cache.hc.Store(key, sum)
		}
		spec.sum, spec.hashed = sum, true
		res, err := r.checkOne(cctx, sum)
		if err != nil {
			return
		}
		switch {
		case res.Action == api.AssetUploadActionAccept:
			spec.accepted = true
		case res.AssetId != nil && (res.Reason == nil || *res.Reason == api.AssetRejectReasonDuplicate):
			o := duplicateOf(*res.AssetId, trashOf(res.IsTrashed))
			spec.dup = &o
			if sent.Load() < size {
				stop(errFoundOnServer)
			}
		}
	}()
	r.prog.Start(path, size)
	ans, err := r.send(sctx, i, &sent)
	if err == nil && ans.created {
		endCheck()
	}
	<-checked
	fr.sum, fr.hashed, fr.accepted = spec.sum, spec.hashed, spec.accepted
	switch {
	case err == nil && (ans.created || (ans.retried && fr.accepted)):
		// created, or our own lost first attempt created it.
		fr.confirmLater = fr.hashed // by confirmAnswers, after the pipeline
		r.settle(i, uploadedAs(ans.dto.Id, !ans.created))
	case err == nil:
		// The check's word on the trash, or else the asset's own.
		o := duplicateOf(ans.dto.Id, trashUnknown)
		if spec.dup != nil && spec.dup.assetID == ans.dto.Id {
			o.trash = spec.dup.trash
		} else if trashed, err := r.c.assetTrashed(ctx, ans.dto.Id.String()); err == nil {
			o.trash = trashOf(&trashed)
		}
		r.settleDuplicate(i, o)
	case spec.dup != nil && ctx.Err() == nil:
		r.settleDuplicate(i, *spec.dup)
	case ctx.Err() == nil: // else reported as cancelled with the rest
		r.unconfirm(fr)
		r.settle(i, failure(err))
	}
}

// settleDuplicate settles file i (hashed or not) as duplicate o and keeps
// the cache's confirmation true, as checkBatch does: a trashed asset's is
// forgotten, another's confirmed (after the pipeline).
func (r *uploadRun) settleDuplicate(i int, o outcome) {
	fr := r.file(i)
	switch {
	case !fr.hashed:
	case o.trash == inTrash:
		r.cache.forget(fr.sum)
	default:
		fr.confirmLater = true // by confirmAnswers, after the pipeline
	}
	r.settle(i, o)
}

// checkOne asks bulk-upload-check about one checksum.
func (r *uploadRun) checkOne(ctx context.Context, sum Checksum) (api.AssetBulkUploadCheckResult, error) {
	var ans api.AssetBulkUploadCheckResponseDto
	req := api.AssetBulkUploadCheckDto{Assets: []api.AssetBulkUploadCheckItem{{Checksum: sum.Hex(), Id: "0"}}}
	if err := r.c.callJSON(ctx, "checkBulkUpload", http.MethodPost, "/assets/bulk-upload-check", req, &ans); err != nil {
		return api.AssetBulkUploadCheckResult{}, err
	}
	for _, a := range ans.Results {
		if a.Id == "0" {
			return a, nil
		}
	}
	return api.AssetBulkUploadCheckResult{}, errors.New("the server did not answer for this file in bulk-upload-check")
}
