package wrapper

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
	// Done says that path is finished. status is what happened, e.g.
	// "uploaded", "duplicate", "rejected", "downloaded", "failed"; err is set
	// when it failed.
	Done(path string, status string, err error)
}

// nopProgress is used when no Progress is given.
type nopProgress struct{}

func (nopProgress) Total(int, int64)           {}
func (nopProgress) Start(string, int64)        {}
func (nopProgress) Add(string, int64)          {}
func (nopProgress) Done(string, string, error) {}

func progressOrNop(p Progress) Progress {
	if p == nil {
		return nopProgress{}
	}
	return p
}
