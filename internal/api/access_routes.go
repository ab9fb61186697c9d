package api

// accessRoutes are the routes of roles, assignments, access checks and
// just-in-time elevations.
func (s *Server) accessRoutes() []route {
	return nil
}
