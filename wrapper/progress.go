package wrapper

// Status is what became of one file of a run, as Progress.Done and
// DownloadResult report it.
type Status string

// The statuses of Upload's files and of the download helpers' files.
const (
	// StatusUploaded: the file was uploaded and the server created an asset.
	StatusUploaded Status = "uploaded"
	// StatusDuplicate: the server already has the file (found by its
	// checksum); nothing was sent, or the server answered "duplicate".
	StatusDuplicate Status = "duplicate"
	// StatusRejected: the file was not sent (not a media type the server
	// accepts).
	StatusRejected Status = "rejected"
	// StatusFailed: the file failed; Done's err says why.
	StatusFailed Status = "failed"
	// StatusDownloaded: the file was downloaded under the name the server
	// suggested (or DownloadOptions.Filename).
	StatusDownloaded Status = "downloaded"
	// StatusRenamed: the file was downloaded under a numbered name
	// ("NAME (1).ext"), as another file already held the name.
	StatusRenamed Status = "renamed"
	// StatusPresent: a file in the target folder already held these bytes;
	// nothing was written, and the path is that file's.
	StatusPresent Status = "present"
)

// Progress observes a transfer run (Upload, or a download helper). The core
// calls it and never prints; the mpb bars (NewBarProgress) are one
// implementation, for the command line. Methods are called from several
// goroutines at once and must be quick.
type Progress interface {
	// Total announces how many files and bytes the run covers; it may be
	// called again as a scan finds more.
	Total(files int, bytes int64)
	// Start says that path (size bytes, -1 when unknown) begins to move.
	Start(path string, size int64)
	// Add says that n more bytes of path moved (hashed, sent or received).
	Add(path string, n int64)
	// Done says that path is finished and how; err is set when status is
	// StatusFailed. A download's Done names the path the file ended at.
	// That is the path its Start named (the first free name when its first
	// bytes arrived), except in two cases: another download took that name
	// meanwhile (StatusRenamed, at the next free name), or a file there
	// already held the same bytes and there was no checksum to find it
	// before downloading (StatusPresent, at that file).
	Done(path string, status Status, err error)
}

// nopProgress is used when no Progress is given.
type nopProgress struct{}

func (nopProgress) Total(int, int64)           {}
func (nopProgress) Start(string, int64)        {}
func (nopProgress) Add(string, int64)          {}
func (nopProgress) Done(string, Status, error) {}

func progressOrNop(p Progress) Progress {
	if p == nil {
		return nopProgress{}
	}
	return p
}
