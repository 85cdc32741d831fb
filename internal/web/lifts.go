package web

// liftRoutes registers the pages of one audience. Lifts: maintenance firms' lifts and reports, operators' agreements and countersigning.
func (s *Server) liftRoutes() {}
