package immichtest

import "testing"

// NewTestServer starts a server for the test t and closes it when t ends.
// At the end it fails t if the fake ever answered something the spec
// rejects (a bug of the fake, never of the client under test) or answered
// 501 because it does not implement an operation or a request field the
// client sent (the test would pass or fail for the wrong reason); request
// validation failures are left to the test to check with
// ValidationFailures, since tests may send bad requests on purpose.
func NewTestServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := Start(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		for _, f := range s.ValidationFailures() {
			switch {
			case f.Response:
				t.Errorf("immichtest: response of the fake violates the spec: %s %s (%s): %s", f.Method, f.Path, f.OperationID, f.Err)
			case f.Unimplemented:
				t.Errorf("immichtest: %s %s: %s", f.Method, f.Path, f.Err)
			}
		}
	})
	return s
}
