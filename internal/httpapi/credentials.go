package httpapi

import (
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/calibd/calibd/devices"
)

type credentialJSON struct {
	DeviceID  string     `json:"device_id"`
	Kind      string     `json:"kind"`
	Username  string     `json:"username"`
	Topics    []string   `json:"topics"`
	IssuedAt  time.Time  `json:"issued_at"`
	RevokedAt *time.Time `json:"revoked_at"`
	Rotations int        `json:"rotations"`
	Version   int        `json:"version"`
	// Secret is set only in the answer that issues it.
	Secret string `json:"secret,omitempty"`
}

func toCredentialJSON(c devices.DeviceCredential) credentialJSON {
	root := devices.TopicPrefix + c.DeviceID + "/"
	return credentialJSON{DeviceID: c.DeviceID, Kind: string(c.Kind), Username: c.DeviceID,
		Topics:   []string{root + "checks", root + "telemetry", root + "events", root + "{checks,telemetry,events}/senml"},
		IssuedAt: c.IssuedAt, RevokedAt: c.RevokedAt, Rotations: c.Rotations, Version: c.Version}
}

// issueDeviceSecret issues or rotates a device's MQTT secret; the answer is
// the only place the secret ever appears.
func (s *Server) issueDeviceSecret(c *gin.Context) {
	cred, secret, err := s.reg.IssueDeviceSecret(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	out := toCredentialJSON(cred)
	out.Secret = secret
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, out)
}

func (s *Server) getDeviceCredential(c *gin.Context) {
	cred, err := s.reg.GetDeviceCredential(c.Request.Context(), actorOf(c), c.Param("id"))
	one(s, c, http.StatusOK, cred, err, toCredentialJSON, cred.Version)
}

func (s *Server) revokeDeviceSecret(c *gin.Context) {
	cred, err := s.reg.RevokeDeviceSecret(c.Request.Context(), actorOf(c), c.Param("id"))
	one(s, c, http.StatusOK, cred, err, toCredentialJSON, cred.Version)
}

type readingJSON struct {
	Seq        int64              `json:"seq"`
	Kind       string             `json:"kind"`
	TS         time.Time          `json:"ts"`
	ReferenceC *float64           `json:"reference_c,omitempty"`
	ValueC     *float64           `json:"value_c,omitempty"`
	ErrorC     *float64           `json:"error_c,omitempty"`
	Mode       string             `json:"mode,omitempty"`
	Metrics    map[string]float64 `json:"metrics,omitempty"`
	Code       string             `json:"code,omitempty"`
	Severity   string             `json:"severity,omitempty"`
	ReceivedAt time.Time          `json:"received_at"`
}

func toReadingJSON(r devices.Reading) readingJSON {
	return readingJSON{Seq: r.Seq, Kind: string(r.Kind), TS: r.TS, ReferenceC: r.ReferenceC, ValueC: r.ValueC, ErrorC: r.ErrorC,
		Mode: r.Mode, Metrics: r.Metrics, Code: r.Code, Severity: r.Severity, ReceivedAt: r.ReceivedAt}
}

// listReadings: a device's history, oldest first, by kind and time range.
func (s *Server) listReadings(c *gin.Context) {
	q := newQuery(c, "kind", "from", "to")
	f := devices.ReadingFilter{Kind: devices.MessageKind(q.enum("kind", func(v string) bool { return devices.MessageKind(v).Valid() },
		joinStrings(devices.MessageKinds))), From: q.time("from"), To: q.time("to")}
	p := q.page()
	if err := q.done(); err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := s.reg.ListReadings(c.Request.Context(), actorOf(c), c.Param("id"), f, p)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, list(items, next, toReadingJSON))
}

// exportReadings streams a device's readings as CSV, oldest first, with
// the same filters as listReadings and no page size.
func (s *Server) exportReadings(c *gin.Context) {
	q := newFilterQuery(c, "kind", "from", "to")
	f := devices.ReadingFilter{Kind: devices.MessageKind(q.enum("kind", func(v string) bool { return devices.MessageKind(v).Valid() },
		joinStrings(devices.MessageKinds))), From: q.time("from"), To: q.time("to")}
	if err := q.done(); err != nil {
		s.fail(c, err)
		return
	}
	cs := &csvStream{c: c, name: "readings-" + strings.ToLower(c.Param("id")) + ".csv"}
	var w *devices.ReadingCSVWriter
	open := func() error {
		if w != nil {
			return nil
		}
		cs.start()
		var err error
		w, err = devices.NewReadingCSVWriter(c.Writer)
		return err
	}
	err := s.reg.ExportReadings(c.Request.Context(), actorOf(c), c.Param("id"), f, func(r devices.Reading) error {
		if err := open(); err != nil {
			return err
		}
		return w.Write(r)
	})
	s.finishCSV(c, cs, err, open, func() error { return w.Flush() })
}

type bucketJSON struct {
	Start   time.Time `json:"start"`
	Count   int       `json:"count"`
	MinErrC float64   `json:"min_error_c"`
	AvgErrC float64   `json:"avg_error_c"`
	MaxErrC float64   `json:"max_error_c"`
}

// readingBuckets: a thermometer's calibration-mode check errors
// downsampled for a chart (default: the last 30 days by day).
func (s *Server) readingBuckets(c *gin.Context) {
	q := newQuery(c, "from", "to", "bucket")
	from, to := q.time("from"), q.time("to")
	width := 24 * time.Hour
	if v := c.Query("bucket"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			q.probs.Add("bucket", "must be a duration such as 1h or 15m")
		}
		width = d
	}
	if err := q.done(); err != nil {
		s.fail(c, err)
		return
	}
	now := time.Now().UTC()
	if to == nil {
		to = &now
	}
	if from == nil {
		f := to.AddDate(0, 0, -30)
		from = &f
	}
	bs, err := s.reg.CheckBuckets(c.Request.Context(), actorOf(c), c.Param("id"), *from, *to, width)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]bucketJSON, len(bs))
	for i, b := range bs {
		out[i] = bucketJSON{Start: b.Start, Count: b.Count, MinErrC: b.MinErrC, AvgErrC: b.AvgErrC, MaxErrC: b.MaxErrC}
	}
	c.JSON(http.StatusOK, gin.H{"from": from.UTC(), "to": to.UTC(), "bucket": width.String(), "buckets": out})
}

type driftFitJSON struct {
	Points           int     `json:"points"`
	InterceptC       float64 `json:"intercept_c"`
	SlopeCPerDay     float64 `json:"slope_c_per_day"`
	ResidualSDC      float64 `json:"residual_sd_c"`
	SlopeT           float64 `json:"slope_t"`
	SlopeSignificant bool    `json:"slope_significant"`
}

type driftForecastJSON struct {
	PredictedAt        *time.Time    `json:"predicted_at"`
	PredictedBeforeDue bool          `json:"predicted_before_due"`
	Reason             string        `json:"reason"`
	Fit                *driftFitJSON `json:"fit"`
}

type driftJSON struct {
	DeviceID         string            `json:"device_id"`
	MPEC             float64           `json:"mpe_c"`
	UC               float64           `json:"u_c"`
	AcceptanceLimitC float64           `json:"acceptance_limit_c"`
	SigmaC           float64           `json:"sigma_c"`
	TargetC          float64           `json:"target_error_c"`
	ParamsSource     string            `json:"params_source"`
	ResetAt          *time.Time        `json:"reset_at"`
	Checks           int               `json:"checks"`
	LastCheckAt      *time.Time        `json:"last_check_at"`
	EWMAC            float64           `json:"ewma_c"`
	EWMALimitC       float64           `json:"ewma_limit_c"`
	CUSUMHighC       float64           `json:"cusum_high_c"`
	CUSUMLowC        float64           `json:"cusum_low_c"`
	CUSUMLimitC      float64           `json:"cusum_limit_c"`
	Forecast         driftForecastJSON `json:"forecast"`
	NextDueAt        time.Time         `json:"next_due_at"`
	Replays          int               `json:"replays"`
	UpdatedAt        *time.Time        `json:"updated_at"`
}

// getDrift: a thermometer's detector state and forecast (DOMAIN.md §3).
func (s *Server) getDrift(c *gin.Context) {
	if err := newQuery(c).done(); err != nil {
		s.fail(c, err)
		return
	}
	r, err := s.reg.DriftReport(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	fc := driftForecastJSON{PredictedAt: r.Forecast.Predicted, PredictedBeforeDue: r.PredictedBeforeDue, Reason: r.Forecast.Reason}
	if f := r.Forecast.Fit; f != nil {
		fc.Fit = &driftFitJSON{Points: f.N, InterceptC: f.A, SlopeCPerDay: f.B, ResidualSDC: f.S, SlopeT: finiteOr(f.SlopeT()),
			SlopeSignificant: r.Forecast.SlopeSignificant}
	}
	c.JSON(http.StatusOK, driftJSON{DeviceID: r.DeviceID, MPEC: r.MPEC, UC: r.UC, AcceptanceLimitC: r.MPEC - r.UC, SigmaC: r.SigmaC,
		TargetC: r.Mu0C, ParamsSource: r.ParamsSource, ResetAt: r.ResetAt, Checks: r.N, LastCheckAt: r.LastAt, EWMAC: r.EWMAC, EWMALimitC: r.EWMALimitC,
		CUSUMHighC: r.CUSUMHighC, CUSUMLowC: r.CUSUMLowC, CUSUMLimitC: r.CUSUMLimitC, Forecast: fc, NextDueAt: r.NextDueAt,
		Replays: r.Replays, UpdatedAt: r.UpdatedAt})
}

// finiteOr keeps JSON encodable: a perfect line's t statistic is ±Inf,
// reported as ±1e308.
func finiteOr(v float64) float64 {
	return math.Max(-math.MaxFloat64, math.Min(math.MaxFloat64, v))
}
