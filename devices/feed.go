package devices

import (
	"context"
	"slices"
	"strings"
	"time"
)

// FeedKind says what an iCalendar feed lists.
type FeedKind string

// Feed kinds.
const (
	// FeedInstitute lists an institute's visits (for its planners and
	// technicians).
	FeedInstitute FeedKind = "institute"
	// FeedVenue lists the visits planned to a venue (for its operator).
	FeedVenue FeedKind = "venue"
	// FeedTechnician lists the visits a technician is assigned to.
	FeedTechnician FeedKind = "technician"
)

// FeedKinds lists every kind.
var FeedKinds = []FeedKind{FeedInstitute, FeedVenue, FeedTechnician}

// Valid reports whether k is a known kind.
func (k FeedKind) Valid() bool { return slices.Contains(FeedKinds, k) }

// FeedPastDays is how far back a feed still shows visits.
const FeedPastDays = 30

// Feed is a calendar subscription reached by a secret URL.
type Feed struct {
	ID        string
	OrgID     string
	Kind      FeedKind
	SubjectID string // the institute, venue or technician
	Name      string
	CreatedAt time.Time
	CreatedBy string
	RevokedAt *time.Time
}

// Validate checks a feed request.
func (f *Feed) Validate() error {
	var p Problems
	f.Name = strings.TrimSpace(f.Name)
	checkText(&p, "name", f.Name, true, 200)
	if !f.Kind.Valid() {
		p.Addf("kind", "must be one of %s", joinKinds(FeedKinds))
	}
	if !IsUUID(f.SubjectID) {
		p.Add("subject_id", "must be a UUID")
	}
	return p.Err()
}

// FeedVisit is a visit as a feed shows it, with its venue.
type FeedVisit struct {
	Visit
	VenueName    string
	VenueAddress string
}

// FeedStore keeps calendar feeds.
type FeedStore interface {
	// CreateFeed makes a feed of what the caller may see (its institute's
	// visits, a venue it operates, or one of its institute's technicians)
	// and returns its secret, shown once.
	CreateFeed(ctx context.Context, a Actor, f *Feed) (string, error)
	ListFeeds(ctx context.Context, a Actor, p Page) ([]Feed, string, error)
	RevokeFeed(ctx context.Context, a Actor, id string) (Feed, error)
	// FeedBySecret resolves a feed's secret (ErrNotFound if unknown or
	// revoked) and returns its visits from FeedPastDays ago on.
	FeedBySecret(ctx context.Context, secret string) (Feed, []FeedVisit, error)
}
