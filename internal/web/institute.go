package web

// instituteRoutes registers the pages of one audience. Metrology institutes: calendar, visits, result entry with a live verdict.
func (s *Server) instituteRoutes() {}
