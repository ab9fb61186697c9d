package api

// identityRoutes are the routes of people, groups, service principals,
// credentials, MFA and platform settings.
func (s *Server) identityRoutes() []route {
	return nil
}
