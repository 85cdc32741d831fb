package httpapi

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/icalfeed"
)

type feedJSON struct {
	ID        string     `json:"id"`
	OrgID     string     `json:"org_id"`
	Kind      string     `json:"kind"`
	SubjectID string     `json:"subject_id"`
	Name      string     `json:"name"`
	URL       string     `json:"url,omitempty"` // only when created: it carries the secret
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

func toFeedJSON(f devices.Feed) feedJSON {
	return feedJSON{ID: f.ID, OrgID: f.OrgID, Kind: string(f.Kind), SubjectID: f.SubjectID, Name: f.Name,
		CreatedAt: f.CreatedAt, RevokedAt: f.RevokedAt}
}

// feedPath is where a feed's calendar is served: the secret is the only
// credential, so calendar clients can subscribe to the URL as it is.
func feedPath(secret string) string { return "/feeds/" + secret + ".ics" }

func (s *Server) createFeed(c *gin.Context) {
	o, err := s.readObject(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	f := devices.Feed{Kind: devices.FeedKind(deref(o.str("kind"))), SubjectID: deref(o.str("subject_id")), Name: deref(o.str("name"))}
	if err := o.done(); err != nil {
		s.fail(c, err)
		return
	}
	secret, err := s.reg.CreateFeed(c.Request.Context(), actorOf(c), &f)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := toFeedJSON(f)
	out.URL = feedPath(secret)
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, out)
}

func (s *Server) listFeeds(c *gin.Context) { listPage(s, c, s.reg.ListFeeds, toFeedJSON) }

func (s *Server) revokeFeed(c *gin.Context) {
	f, err := s.reg.RevokeFeed(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, toFeedJSON(f))
}

var feedStatus = map[devices.VisitState]string{
	devices.VisitPlanned: icalfeed.StatusTentative, devices.VisitConfirmed: icalfeed.StatusConfirmed,
	devices.VisitInProgress: icalfeed.StatusConfirmed, devices.VisitCompleted: icalfeed.StatusConfirmed,
	devices.VisitCancelled: icalfeed.StatusCancelled,
}

// serveFeed answers GET /feeds/{secret}.ics with the feed's calendar; an
// unknown or revoked secret is a 404.
func (s *Server) serveFeed(c *gin.Context) {
	secret := strings.TrimSuffix(c.Param("file"), ".ics")
	feed, visits, err := s.reg.FeedBySecret(c.Request.Context(), secret)
	if err != nil {
		s.fail(c, err)
		return
	}
	events := make([]icalfeed.Event, len(visits))
	for i, v := range visits {
		desc := fmt.Sprintf("State: %s\nPriority %d\n%s\nTasks: %s", v.State, v.Priority, v.Why, strings.Join(v.TaskIDs, ", "))
		if len(v.Technicians) > 0 {
			names := make([]string, len(v.Technicians))
			for j, t := range v.Technicians {
				names[j] = t.Name
			}
			desc += "\nTechnicians: " + strings.Join(names, ", ")
		}
		// Every feed names a visit by its id alone, so a visit that moves,
		// or shows in several feeds, is one event to a calendar client.
		events[i] = icalfeed.Event{
			UID:         v.ID + "@calibd",
			Day:         v.Day,
			Summary:     fmt.Sprintf("Calibration visit: %s (%d thermometers)", v.VenueName, len(v.TaskIDs)),
			Description: desc,
			Location:    joinNonEmpty(", ", v.VenueName, v.VenueAddress),
			Status:      feedStatus[v.State],
			Sequence:    v.Version,
			Updated:     v.UpdatedAt,
			URL:         "/api/v1/visits/" + v.ID,
		}
	}
	body, err := icalfeed.Feed("calibd: "+feed.Name, events, time.Now())
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Cache-Control", "private, max-age=300")
	c.Data(http.StatusOK, "text/calendar; charset=utf-8", body)
}

func joinNonEmpty(sep string, parts ...string) string {
	out := parts[:0:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}
