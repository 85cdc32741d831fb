package web

// regulatorRoutes registers the pages of one audience. The regulator: coverage, alerts, deferral policies.
func (s *Server) regulatorRoutes() {}
