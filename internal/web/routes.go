package web

import (
	"io/fs"
	"net/http"
)

// routes registers every page. Keep this list the table of the dashboard.
func (s *Server) routes() {
	static, _ := fs.Sub(staticFS, "static")
	files := http.FileServerFS(static)
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})))
	s.mux.HandleFunc("GET /signin", s.signInPage)
	s.mux.HandleFunc("POST /signin", s.signIn)
	s.mux.HandleFunc("POST /signout", s.authed(s.signOut))
	s.mux.HandleFunc("GET /{$}", s.authed(s.home))

	// Venue operators: venues, devices, calibration requests.
	s.mux.HandleFunc("GET /venues", s.authed(s.venues))
	s.mux.HandleFunc("POST /venues", s.authed(s.createVenue))
	s.mux.HandleFunc("GET /venues/{id}", s.authed(s.venue))
	s.mux.HandleFunc("POST /venues/{id}/thermometers", s.authed(s.createThermometer))
	s.mux.HandleFunc("POST /requests", s.authed(s.requestCalibration))
	s.mux.HandleFunc("GET /devices", s.authed(s.deviceList))
	s.mux.HandleFunc("GET /devices/{id}", s.authed(s.device))
	s.mux.HandleFunc("GET /devices/{id}/chart.json", s.authed(s.deviceChart))
	s.mux.HandleFunc("GET /devices/{id}/readings.csv", s.authed(s.deviceReadings))
	s.mux.HandleFunc("GET /results/{id}/certificate.pdf", s.authed(s.certificatePDF))

	s.mux.HandleFunc("GET /organizations", s.authed(s.orgs))
	s.mux.HandleFunc("POST /organizations", s.authed(s.createOrg))
	s.mux.HandleFunc("GET /organizations/{id}", s.authed(s.org))
	s.mux.HandleFunc("POST /organizations/{id}/tokens", s.authed(s.issueToken))
	s.mux.HandleFunc("POST /organizations/{id}/tokens/{token}/revoke", s.authed(s.revokeToken))

	s.instituteRoutes()
	s.liftRoutes()
	s.regulatorRoutes()

	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusNotFound, "error", page{Title: "Not found", Problem: "There is nothing here, or nothing you may see."})
	})
}
