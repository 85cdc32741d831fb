package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/certificate"
)

type deviceData struct {
	Thermometer devices.Thermometer
	Statuses    []string
	Results     []devices.CalibrationResult
	Alerts      []devices.Alert
	Drift       devices.DriftReport
	// Refused are its newest dead letters: why messages it sent were not
	// stored.
	Refused []devices.DeadLetter
}

// device: a thermometer's page: what it is, its status, its calibration
// history with certificates, its alerts, and the drift chart.
func (s *Server) device(w http.ResponseWriter, r *http.Request) {
	a, ctx := actorOf(r), r.Context()
	t, err := s.st.GetThermometer(ctx, a, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	results, _, err := s.st.ListResults(ctx, a, devices.ResultFilter{ThermometerID: t.ID}, devices.Page{Limit: 50})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	alerts, _, err := s.st.ListAlerts(ctx, a, devices.AlertFilter{DeviceID: t.ID}, devices.Page{Limit: 50})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var active []devices.AlertKind
	for _, al := range alerts {
		if al.State != devices.AlertResolved {
			active = append(active, al.Kind)
		}
	}
	drift, err := s.st.DriftReport(ctx, a, t.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	refused, _, err := s.st.DeviceDeadLetters(ctx, a, t.ID, devices.DeadLetterFilter{}, devices.Page{Limit: shownRefused})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "device", page{Title: "Thermometer " + t.Serial, Data: deviceData{Thermometer: t,
		Statuses: statuses(t, active), Results: results, Alerts: alerts, Drift: drift, Refused: refused}})
}

// chartJSON is what the drift chart draws: check errors with the EWMA the
// detectors computed over them (since the last calibration), the ±MPE
// band, alert markers and the forecast crossing date. Times are Unix
// seconds.
type chartJSON struct {
	MPEC      float64       `json:"mpe_c"`
	LimitC    float64       `json:"acceptance_limit_c"`
	Times     []int64       `json:"t"`
	Errors    []float64     `json:"e"`
	EWMA      []float64     `json:"ewma"`
	Alerts    []chartMarker `json:"alerts"`
	Forecast  *int64        `json:"forecast"`
	Truncated bool          `json:"truncated"`
}

type chartMarker struct {
	T    int64  `json:"t"`
	Kind string `json:"kind"`
}

// maxChartPoints bounds one chart; a longer history shows its newest.
const maxChartPoints = 5000

func (s *Server) deviceChart(w http.ResponseWriter, r *http.Request) {
	a, ctx := actorOf(r), r.Context()
	t, err := s.st.GetThermometer(ctx, a, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rep, err := s.st.DriftReport(ctx, a, t.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := devices.ReadingFilter{Kind: devices.MessageChecks, From: rep.ResetAt}
	if f.From == nil {
		since := time.Now().UTC().AddDate(0, -6, 0)
		f.From = &since
	}
	out := chartJSON{MPEC: rep.MPEC, LimitC: rep.MPEC - rep.UC, Times: []int64{}, Errors: []float64{}, EWMA: []float64{}, Alerts: []chartMarker{}}
	var z float64
	cursor := ""
	for {
		page, next, err := s.st.ListReadings(ctx, a, t.ID, f, devices.Page{Limit: 500, Cursor: cursor})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, rd := range page {
			if rd.ErrorC == nil || rd.Mode != string(devices.ModeCalibration) {
				continue
			}
			if rep.ResetAt != nil && !rd.TS.After(*rep.ResetAt) {
				continue
			}
			z = rep.Lambda*(*rd.ErrorC) + (1-rep.Lambda)*z
			out.Times = append(out.Times, rd.TS.Unix())
			out.Errors = append(out.Errors, *rd.ErrorC)
			out.EWMA = append(out.EWMA, z)
		}
		if next == "" || len(out.Times) >= maxChartPoints {
			out.Truncated = next != ""
			break
		}
		cursor = next
	}
	alerts, _, err := s.st.ListAlerts(ctx, a, devices.AlertFilter{DeviceID: t.ID}, devices.Page{Limit: 100})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, al := range alerts {
		if al.DeviceKind == devices.DeviceThermometer && al.Kind != devices.AlertSilent {
			out.Alerts = append(out.Alerts, chartMarker{T: al.FirstAt.Unix(), Kind: string(al.Kind)})
		}
	}
	if p := rep.Forecast.Predicted; p != nil {
		v := p.Unix()
		out.Forecast = &v
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(out)
}

// certificatePDF serves a result's certificate to whoever may see the
// result, as the API does.
func (s *Server) certificatePDF(w http.ResponseWriter, r *http.Request) {
	p, err := s.st.CertificateOf(r.Context(), actorOf(r), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cert := certificate.FromParties(p)
	pdf, err := certificate.PDF(cert)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name := strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < ' ' {
			return '_'
		}
		return r
	}, cert.Number)
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.pdf"`, name))
	_, _ = w.Write(pdf)
}

// deviceReadings streams what a thermometer or lift sent as CSV, oldest
// first (the API's readings export): a download for a spreadsheet or an
// audit file.
func (s *Server) deviceReadings(w http.ResponseWriter, r *http.Request) {
	id := strings.ToLower(r.PathValue("id"))
	var cw *devices.ReadingCSVWriter
	open := func() error {
		if cw != nil {
			return nil
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="readings-`+id+`.csv"`)
		var err error
		cw, err = devices.NewReadingCSVWriter(w)
		return err
	}
	err := s.st.ExportReadings(r.Context(), actorOf(r), id, devices.ReadingFilter{}, func(rd devices.Reading) error {
		if err := open(); err != nil {
			return err
		}
		return cw.Write(rd)
	})
	if err == nil {
		if err = open(); err == nil { // an empty export still has its header
			err = cw.Flush()
		}
	}
	switch {
	case err == nil:
	case cw == nil:
		s.fail(w, r, err)
	default:
		// Mid-stream: cut the response so the download shows as broken
		// rather than silently short.
		s.log.ErrorContext(r.Context(), "readings export failed mid-stream", "device", id, "error", err)
		panic(http.ErrAbortHandler)
	}
}
