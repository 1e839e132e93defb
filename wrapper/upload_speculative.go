package wrapper

import (
	"context"
	"errors"
	"fmt"
	"net/http"

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
	dup      *outcome // bulk-upload-check found the file (the upload was stopped)
}

// uploadSpeculative sends file i, whose checksum is not known yet, at
// once, and meanwhile hashes it and asks bulk-upload-check about it. A
// duplicate found before the upload ends stops the upload, and the file is
// reported as that duplicate. Otherwise the upload's answer stands (the
// server finds a duplicate itself), and the checksum goes to the cache as
// after any upload. A failure to hash or check does not fail the upload.
func (r *uploadRun) uploadSpeculative(ctx context.Context, i int) {
	fr := &r.files[i]
	path := fr.f.path()
	// sctx ends the upload when the check finds the file; cctx ends the
	// check when the upload has ended (its answer then stands), but not the
	// hashing, whose checksum goes to the cache.
	sctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	cctx, endCheck := context.WithCancel(sctx)
	defer endCheck()
	var spec speculation
	checked := make(chan struct{})
	go func() {
		defer close(checked)
		key, keyed := r.cacheKey(fr.f, path, absPaths())
		sum, _, err := hashFile(sctx, path, nil)
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
			stop(errFoundOnServer)
		}
	}()
	r.prog.Start(path, fr.f.size())
	ans, err := r.send(sctx, fr, path)
	endCheck()
	if err != nil {
		stop(err) // the checksum is of no use now
	}
	<-checked
	fr.sum, fr.hashed, fr.accepted = spec.sum, spec.hashed, spec.accepted
	switch {
	case err == nil:
		switch {
		case !fr.hashed:
		case fr.accepted:
			r.cache.confirmNew(fr.sum, ans.dto.Id.String())
		default:
			r.cache.confirm(fr.sum, ans.dto.Id.String())
		}
		if ans.created || (ans.retried && fr.accepted) {
			r.settle(i, uploadedAs(ans.dto.Id, !ans.created))
		} else {
			r.settle(i, duplicateOf(ans.dto.Id, trashUnknown))
		}
	case spec.dup != nil && ctx.Err() == nil:
		if spec.dup.trash == inTrash {
			r.cache.forget(fr.sum)
		} else {
			r.cache.confirm(fr.sum, spec.dup.assetID.String())
		}
		r.settle(i, *spec.dup)
	case ctx.Err() == nil: // else reported as cancelled with the rest
		r.unconfirm(fr)
		r.settle(i, failure(err))
	}
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
	return api.AssetBulkUploadCheckResult{}, fmt.Errorf("the server did not answer for this file in bulk-upload-check")
}
