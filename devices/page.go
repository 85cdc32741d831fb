package devices

// List limits.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Page asks for one page of a keyset-paginated list: at most Limit items
// after the opaque Cursor a previous page returned.
type Page struct {
	Limit  int
	Cursor string
}

// Normalize applies the default limit and checks the bounds.
func (p *Page) Normalize() error {
	if p.Limit == 0 {
		p.Limit = DefaultLimit
	}
	if p.Limit < 1 || p.Limit > MaxLimit {
		return Invalid("limit", "must be between 1 and 500")
	}
	return nil
}

// AnyVersion, passed as the expected version of a write, skips the
// optimistic-concurrency check (retiring, where the caller sent none).
const AnyVersion = 0
